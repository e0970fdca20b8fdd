// Package indexer turns uploaded files and web pages into searchable
// passages: a log consumer queues each indexing request, and workers in any
// number of processes extract the text (files from the blob store, pages
// fetched with SSRF protection) and record the passages as an event.
package indexer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/companin/companin/adapters/extract"
	"github.com/companin/companin/adapters/fetch"
	"github.com/companin/companin/adapters/logctx"
	"github.com/companin/companin/adapters/pgqueue"
	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/knowledge"
)

// Name is the log consumer's identity; JobKind names its queued jobs.
const (
	Name    = "worker.indexer"
	JobKind = "index"
)

// MaxAttempts bounds retries of transient failures before the item fails.
const MaxAttempts = 5

// Items loads knowledge items and records indexing results.
type Items interface {
	Load(ctx context.Context, m commands.Meta, id uuid.UUID) (*knowledge.Item, error)
	Index(ctx context.Context, m commands.Meta, id uuid.UUID, attempt int, language, title string, sections []knowledge.Section, failure string) (commands.Result, error)
}

// Blobs reads uploaded bytes.
type Blobs interface {
	Get(ctx context.Context, key string) ([]byte, error)
}

// Fetcher fetches web pages.
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string) (fetch.Page, error)
}

// Queue takes jobs.
type Queue interface {
	Enqueue(ctx context.Context, kind, key string, payload any) error
}

// Indexer consumes knowledge events and runs indexing jobs.
type Indexer struct {
	codec   *event.Codec
	items   Items
	blobs   Blobs
	fetcher Fetcher
	queue   Queue
	limits  extract.Limits
}

// New returns an indexer; every dependency is required.
func New(codec *event.Codec, items Items, blobs Blobs, fetcher Fetcher, queue Queue, limits extract.Limits) *Indexer {
	if codec == nil || items == nil || blobs == nil || fetcher == nil || queue == nil {
		panic("indexer: nil dependency")
	}
	return &Indexer{codec: codec, items: items, blobs: blobs, fetcher: fetcher, queue: queue, limits: limits}
}

type job struct {
	Org  uuid.UUID `json:"org"`
	Item uuid.UUID `json:"item"`
	Corr uuid.UUID `json:"corr"`
}

// Handle queues a job for every file or page added and every refresh.
func (x *Indexer) Handle(ctx context.Context, e event.Event) error {
	switch e.Type {
	case knowledge.Added{}.EventType():
		p, err := x.codec.Decode(e)
		if err != nil {
			return err
		}
		if p.(knowledge.Added).Kind == knowledge.KindQA.String() {
			return nil // indexed in the same append
		}
	case knowledge.RefreshRequested{}.EventType():
	default:
		return nil
	}
	id, err := uuid.Parse(e.Stream[len("knowledge-"):])
	if err != nil {
		return fmt.Errorf("stream %s: %w", e.Stream, err)
	}
	return x.queue.Enqueue(ctx, JobKind, e.ID.String(), job{Org: e.OrganizationID, Item: id, Corr: e.CorrelationID})
}

// Run indexes one queued item.
func (x *Indexer) Run(ctx context.Context, j *pgqueue.Job) error {
	var jb job
	if err := json.Unmarshal(j.Payload, &jb); err != nil {
		return nil // not ours to retry: a malformed job can never succeed
	}
	ctx = logctx.With(ctx, "correlation_id", jb.Corr.String(), "knowledge_id", jb.Item.String(), "job", j.ID)
	m := commands.Meta{OrganizationID: jb.Org, CorrelationID: jb.Corr, Actor: Name}
	it, err := x.items.Load(ctx, m, jb.Item)
	if errors.Is(err, commands.ErrNotFound) {
		return nil // removed meanwhile
	}
	if err != nil {
		return err
	}
	if !it.Pending() {
		return nil
	}
	attempt := it.Attempt()
	doc, err := x.extract(ctx, it.Source())
	switch {
	case permanent(err):
		_, err = x.items.Index(ctx, m, jb.Item, attempt, "", "", nil, reason(err))
		return err
	case err != nil && j.Attempts >= MaxAttempts:
		_, err = x.items.Index(ctx, m, jb.Item, attempt, "", "", nil, reason(err))
		return err
	case err != nil:
		return err
	}
	sections := make([]knowledge.Section, len(doc.Sections))
	for i, s := range doc.Sections {
		sections[i] = knowledge.Section{Heading: s.Heading, Text: s.Text}
	}
	_, err = x.items.Index(ctx, m, jb.Item, attempt, "", doc.Title, sections, "")
	return err
}

func (x *Indexer) extract(ctx context.Context, src knowledge.Added) (extract.Document, error) {
	switch src.Kind {
	case knowledge.KindFile.String():
		data, err := x.blobs.Get(ctx, src.BlobSHA256)
		if err != nil {
			return extract.Document{}, err
		}
		return extract.Extract(ctx, extract.Type(src.FileType), data, x.limits)
	case knowledge.KindURL.String():
		page, err := x.fetcher.Fetch(ctx, src.URL)
		if err != nil {
			return extract.Document{}, err
		}
		return page.Document, nil
	}
	return extract.Document{}, &extract.Error{Kind: extract.ErrUnsupported, Reason: "unknown item kind " + src.Kind}
}

// permanent reports whether err will not go away by retrying: the file or
// page itself is the problem, or the address is refused.
func permanent(err error) bool {
	var xe *extract.Error
	if errors.As(err, &xe) && !errors.Is(err, extract.ErrTimeout) {
		return true
	}
	var fe *fetch.Error
	return errors.As(err, &fe) && !errors.Is(err, fetch.ErrUnreachable) && !errors.Is(err, fetch.ErrTimeout)
}

// reason is the failure text users see on the item.
func reason(err error) string {
	var xe *extract.Error
	if errors.As(err, &xe) {
		return xe.Reason
	}
	var fe *fetch.Error
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return err.Error()
}
