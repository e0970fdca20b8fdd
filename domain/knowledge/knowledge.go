// Package knowledge holds the knowledge item aggregate: a Q&A pair, file or
// web page an organization teaches its assistants, and its indexing state.
package knowledge

import (
	"crypto/sha256"
	"errors"
	"fmt"
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
	ErrExists  = errors.New("knowledge item already exists")
	ErrRemoved = errors.New("knowledge item was removed")
)

// Added records a new item; for files and URLs indexing follows later.
type Added struct {
	Kind        string     `json:"kind"`
	Title       string     `json:"title"`
	Question    string     `json:"question,omitempty"`
	Answer      string     `json:"answer,omitempty"`
	Tags        []string   `json:"tags"`
	Source      string     `json:"source,omitempty"`
	URL         string     `json:"url,omitempty"`
	FileType    string     `json:"file_type,omitempty"`
	AssistantID *uuid.UUID `json:"assistant_id,omitempty"`
}

// Chunk is one retrievable passage. Its id is derived from the item and the
// passage text, so rebuilding yields the same ids.
type Chunk struct {
	ID      uuid.UUID `json:"id"`
	Ordinal int       `json:"ordinal"`
	Heading string    `json:"heading,omitempty"`
	Text    string    `json:"text"`
}

// Indexed records the item's passages: read models rebuild from this event
// without repeating extraction.
type Indexed struct {
	Language string  `json:"language,omitempty"`
	Chunks   []Chunk `json:"chunks"`
}

// IndexingFailed records why an item cannot be used.
type IndexingFailed struct {
	Reason string `json:"reason"`
}

// Removed takes the item out of retrieval for good.
type Removed struct{}

func (Added) EventType() string          { return "knowledge.added" }
func (Indexed) EventType() string        { return "knowledge.indexed" }
func (IndexingFailed) EventType() string { return "knowledge.indexing_failed" }
func (Removed) EventType() string        { return "knowledge.removed" }

// Kinds lists this package's events for the codec.
func Kinds() []event.Kind {
	return []event.Kind{
		event.KindOf[Added](1), event.KindOf[Indexed](1),
		event.KindOf[IndexingFailed](1), event.KindOf[Removed](1),
	}
}

// Item is the aggregate.
type Item struct {
	event.Recorder
	id      uuid.UUID
	added   bool
	removed bool
}

// New returns an empty item with id, ready to load or create.
func New(id uuid.UUID) *Item { return &Item{id: id} }

// Apply folds an event into the state.
func (i *Item) Apply(p event.Payload) {
	switch p.(type) {
	case Added:
		i.added = true
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
