// Package knowledge holds the knowledge item aggregate: a Q&A pair, file or
// web page an organization teaches its assistants, and its indexing state.
package knowledge

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/validation"
)

// Stream returns the stream id of item id.
func Stream(id uuid.UUID) string { return "knowledge-" + id.String() }

// Kind is the sort of source an item came from.
type Kind struct{ s string }

var (
	KindQA   = Kind{"qa"}
	KindFile = Kind{"file"}
	KindURL  = Kind{"url"}
)

func (k Kind) String() string { return k.s }

var (
	ErrExists         = errors.New("knowledge item already exists")
	ErrRemoved        = errors.New("knowledge item was removed")
	ErrNotRefreshable = errors.New("only web page items can be refreshed")
	ErrStale          = errors.New("indexing result is for an outdated request")
)

// Added records a new item; for files and URLs indexing follows later.
type Added struct {
	Kind     string   `json:"kind"`
	Title    string   `json:"title"`
	Question string   `json:"question,omitempty"`
	Answer   string   `json:"answer,omitempty"`
	Tags     []string `json:"tags"`
	Source   string   `json:"source,omitempty"`
	URL      string   `json:"url,omitempty"`
	FileType string   `json:"file_type,omitempty"`
	Filename string   `json:"filename,omitempty"`
	// BlobSHA256 names the uploaded bytes in the content-addressed blob
	// store, so re-indexing never needs the upload again.
	BlobSHA256  string     `json:"blob_sha256,omitempty"`
	Size        int64      `json:"size,omitempty"`
	AssistantID *uuid.UUID `json:"assistant_id,omitempty"`
}

// RefreshRequested asks for a URL item to be fetched and indexed again.
type RefreshRequested struct{}

// Chunk is one retrievable passage. Its id is derived from the item and the
// passage text, so rebuilding yields the same ids.
type Chunk struct {
	ID      uuid.UUID `json:"id"`
	Ordinal int       `json:"ordinal"`
	Heading string    `json:"heading,omitempty"`
	Text    string    `json:"text"`
}

// Indexed records the item's passages: read models rebuild from this event
// without repeating extraction. Title is set when the source named itself
// (a web page's title) and the item had none.
type Indexed struct {
	Language string  `json:"language,omitempty"`
	Title    string  `json:"title,omitempty"`
	Chunks   []Chunk `json:"chunks"`
}

// IndexingFailed records why an item cannot be used.
type IndexingFailed struct {
	Reason string `json:"reason"`
}

// Removed takes the item out of retrieval for good.
type Removed struct{}

func (Added) EventType() string            { return "knowledge.added" }
func (Indexed) EventType() string          { return "knowledge.indexed" }
func (IndexingFailed) EventType() string   { return "knowledge.indexing_failed" }
func (Removed) EventType() string          { return "knowledge.removed" }
func (RefreshRequested) EventType() string { return "knowledge.refresh_requested" }

// Kinds lists this package's events for the codec.
func Kinds() []event.Kind {
	return []event.Kind{
		event.KindOf[Added](1), event.KindOf[Indexed](1),
		event.KindOf[IndexingFailed](1), event.KindOf[Removed](1), event.KindOf[RefreshRequested](1),
	}
}

// Item is the aggregate.
type Item struct {
	event.Recorder
	id      uuid.UUID
	added   bool
	removed bool
	kind    string
	title   string
	source  Added
	// attempt counts indexing requests (the add and each refresh); an
	// indexing result is for the latest one only.
	attempt int
	settled int // the attempt the last result was for
}

// New returns an empty item with id, ready to load or create.
func New(id uuid.UUID) *Item { return &Item{id: id} }

// Apply folds an event into the state.
func (i *Item) Apply(p event.Payload) {
	switch e := p.(type) {
	case Added:
		i.added, i.kind, i.title, i.source = true, e.Kind, e.Title, e
		i.attempt = 1
	case RefreshRequested:
		i.attempt++
	case Indexed:
		i.settled = i.attempt
		if i.title == "" && e.Title != "" {
			i.title = e.Title
		}
	case IndexingFailed:
		i.settled = i.attempt
	case Removed:
		i.removed = true
	}
}

func (i *Item) record(p event.Payload) { i.Apply(p); i.Record(p) }

// Exists reports whether the item was added and not removed.
func (i *Item) Exists() bool { return i.added && !i.removed }

// QA is a question and its answer.
type QA struct {
	Question    string
	Answer      string
	Tags        []string
	Source      string
	AssistantID *uuid.UUID
}

// AddQA records a Q&A pair. It is indexed at once, in the same append: the
// pair is its own single passage, so a question asked right after it was
// added can always be answered from it.
func (i *Item) AddQA(q QA) error {
	if i.added {
		return ErrExists
	}
	var v validation.Checker
	q.Question = v.Text("question", q.Question, true, 1000)
	q.Answer = v.Text("answer", q.Answer, true, 10000)
	if q.Tags == nil {
		q.Tags = []string{}
	}
	q.Tags = v.List("tags", q.Tags, 20, 50)
	q.Source = v.Text("source", q.Source, false, 200)
	if err := v.Err(); err != nil {
		return err
	}
	i.record(Added{Kind: KindQA.s, Title: q.Question, Question: q.Question, Answer: q.Answer,
		Tags: q.Tags, Source: q.Source, AssistantID: q.AssistantID})
	i.record(Indexed{Chunks: []Chunk{i.chunk(0, "", "Q: "+q.Question+"\nA: "+q.Answer)}})
	return nil
}

// Source returns how the item was added.
func (i *Item) Source() Added { return i.source }

// Title returns the item's title.
func (i *Item) Title() string { return i.title }

// Attempt identifies the current indexing request; Pending reports whether
// it still waits for a result.
func (i *Item) Attempt() int  { return i.attempt }
func (i *Item) Pending() bool { return i.settled < i.attempt }

// File describes an uploaded file whose bytes are already stored.
type File struct {
	Title       string
	FileType    string // the type the bytes really are
	Filename    string
	BlobSHA256  string
	Size        int64
	Tags        []string
	AssistantID *uuid.UUID
}

// AddFile records an uploaded file; indexing follows.
func (i *Item) AddFile(f File) error {
	if i.added {
		return ErrExists
	}
	var v validation.Checker
	f.Title = v.Text("title", f.Title, false, 300)
	f.Filename = v.Text("filename", f.Filename, false, 300)
	v.Check(len(f.BlobSHA256) == 64, "file", "is required")
	if f.Tags == nil {
		f.Tags = []string{}
	}
	f.Tags = v.List("tags", f.Tags, 20, 50)
	if err := v.Err(); err != nil {
		return err
	}
	if f.Title == "" {
		f.Title = f.Filename
	}
	i.record(Added{Kind: KindFile.s, Title: f.Title, FileType: f.FileType, Filename: f.Filename,
		BlobSHA256: f.BlobSHA256, Size: f.Size, Tags: f.Tags, AssistantID: f.AssistantID})
	return nil
}

// AddURL records a web page to fetch and index; fetching happens in a
// worker, never in the request.
func (i *Item) AddURL(rawURL, title string, tags []string, assistantID *uuid.UUID) error {
	if i.added {
		return ErrExists
	}
	var v validation.Checker
	rawURL = v.Text("url", rawURL, true, 2000)
	if u, err := url.Parse(rawURL); rawURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil) {
		v.Add("url", "must be an http or https URL without credentials")
	}
	title = v.Text("title", title, false, 300)
	if tags == nil {
		tags = []string{}
	}
	tags = v.List("tags", tags, 20, 50)
	if err := v.Err(); err != nil {
		return err
	}
	i.record(Added{Kind: KindURL.s, Title: title, URL: rawURL, Tags: tags, AssistantID: assistantID})
	return nil
}

// RequestRefresh asks for a URL item to be fetched again.
func (i *Item) RequestRefresh() error {
	switch {
	case !i.Exists():
		return ErrRemoved
	case i.kind != KindURL.s:
		return ErrNotRefreshable
	}
	i.record(RefreshRequested{})
	return nil
}

// Index records the passages of indexing attempt attempt. A result for an
// older attempt, or for an attempt already settled, is ErrStale.
func (i *Item) Index(attempt int, language, title string, sections []Section) error {
	if err := i.current(attempt); err != nil {
		return err
	}
	parts := Split(sections)
	if len(parts) == 0 {
		return i.FailIndexing(attempt, "no text could be extracted")
	}
	chunks := make([]Chunk, len(parts))
	for n, p := range parts {
		chunks[n] = i.chunk(n, p.Heading, p.Text)
	}
	if i.title != "" {
		title = ""
	}
	i.record(Indexed{Language: language, Title: strings.TrimSpace(title), Chunks: chunks})
	return nil
}

// FailIndexing records why attempt could not be indexed.
func (i *Item) FailIndexing(attempt int, reason string) error {
	if err := i.current(attempt); err != nil {
		return err
	}
	i.record(IndexingFailed{Reason: reason})
	return nil
}

func (i *Item) current(attempt int) error {
	switch {
	case !i.Exists():
		return ErrRemoved
	case attempt != i.attempt || !i.Pending():
		return ErrStale
	}
	return nil
}

// Remove takes the item out of retrieval; removing twice is a no-op.
func (i *Item) Remove() error {
	if !i.added {
		return ErrRemoved
	}
	if !i.removed {
		i.record(Removed{})
	}
	return nil
}

func (i *Item) chunk(ordinal int, heading, text string) Chunk {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s", i.id, ordinal, strings.TrimSpace(text))))
	return Chunk{ID: uuid.NewSHA1(i.id, sum[:]), Ordinal: ordinal, Heading: heading, Text: text}
}
