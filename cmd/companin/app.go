package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/adapters/blobstore"
	"github.com/companin/companin/adapters/embedding"
	"github.com/companin/companin/adapters/eventbus"
	"github.com/companin/companin/adapters/eventstore/pgstore"
	"github.com/companin/companin/adapters/extract"
	"github.com/companin/companin/adapters/extractive"
	"github.com/companin/companin/adapters/fetch"
	"github.com/companin/companin/adapters/httpapi"
	"github.com/companin/companin/adapters/ollama"
	"github.com/companin/companin/adapters/pgqueue"
	"github.com/companin/companin/adapters/replystream"
	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/catalog"
	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/projections"
	"github.com/companin/companin/retrieval"
	"github.com/companin/companin/worker/indexer"
	"github.com/companin/companin/worker/reply"
)

// newCodec lists every event the system stores.
func newCodec() *event.Codec { return catalog.Codec() }

// models picks the responder and embedder: Ollama's when models are named,
// with the built-in extractive responder as the fallback, else the built-in
// ones.
func models(cfg config) (reply.Responder, retrieval.Embedder, error) {
	var responder reply.Responder = extractive.Responder{}
	var embedder retrieval.Embedder = embedding.Hashing{}
	if cfg.ChatModel == "" && cfg.EmbedModel == "" {
		return responder, embedder, nil
	}
	oc := ollama.DefaultConfig()
	oc.Host, oc.ChatModel, oc.EmbedModel = cfg.OllamaHost, cfg.ChatModel, cfg.EmbedModel
	oc.NumCtx, oc.NumPredict = cfg.OllamaNumCtx, cfg.OllamaPredict
	client, err := ollama.New(oc)
	if err != nil {
		return nil, nil, fmt.Errorf("ollama: %w", err)
	}
	if cfg.ChatModel != "" {
		responder = reply.Fallback{
			Primary:   ollama.Responder{Client: client, Relevant: extractive.Relevant},
			Secondary: extractive.Responder{},
		}
	}
	if cfg.EmbedModel != "" {
		embedder = ollama.Embedder{Client: client}
	}
	return responder, embedder, nil
}

// application is the wired system.
type application struct {
	cfg      config
	pool     *pgxpool.Pool
	store    *pgstore.Store
	codec    *event.Codec
	queries  *projections.Queries
	progress *projections.Progress
	orgs     *commands.Organizations
	api      *httpapi.Server
	hub      *replystream.Hub
	engine   *retrieval.Engine
	queue    *pgqueue.Queue
	replies  *reply.Worker
	indexer  *indexer.Indexer
}

// newApplication wires every part by hand: no container, no registries.
func newApplication(ctx context.Context, cfg config, pool *pgxpool.Pool) (*application, error) {
	codec := newCodec()
	store := pgstore.New(pool)
	queries := projections.NewQueries(pool)
	progress := projections.NewProgress(pool)
	responder, embedder, err := models(cfg)
	if err != nil {
		return nil, err
	}
	engine := retrieval.New(pool, queries, embedder)
	queue := pgqueue.New(pool, 2*time.Minute)
	hub := replystream.NewHub(pool)
	tokens := httpapi.NewTokens(pool, nil)
	if err := tokens.Init(ctx); err != nil {
		return nil, err
	}
	a := &application{cfg: cfg, pool: pool, store: store, codec: codec, queries: queries, progress: progress, engine: engine, queue: queue, hub: hub,
		orgs: commands.NewOrganizations(store, codec, nil)}
	a.api = httpapi.New(httpapi.Deps{
		Pool: pool, Queries: queries, Progress: progress,
		Assistants:    commands.NewAssistants(store, codec, nil),
		Conversations: commands.NewConversations(store, codec, nil),
		Contexts:      commands.NewContexts(store, codec, nil),
		Knowledge:     commands.NewKnowledge(store, codec, nil),
		Widgets:       commands.NewWidgetConfigs(store, codec, nil),
		Tokens:        tokens,
		Limiter:       httpapi.NewRateLimiter(pool, cfg.RateLimit, time.Hour, nil),
		Retrieval:     engine,
		Blobs:         blobstore.New(pool),
		Streams:       hub,
	}, httpapi.Config{MaxUpload: cfg.MaxUpload, ReplyWait: cfg.ReplyWait, ProjectionWait: cfg.ProjectionWait, AllowedOrigins: cfg.CORSOrigins,
		WidgetClientLimit: cfg.WidgetClientLimit, WidgetIPLimit: cfg.WidgetIPLimit})
	streams := replystream.NewPublisher(pool)
	a.replies = reply.New(reply.Deps{
		Codec: codec, Threads: commands.NewConversations(store, codec, nil),
		Assistants: commands.NewAssistants(store, codec, nil), Retriever: engine, Reader: queries,
		Progress: progress, Responder: responder, Relevant: extractive.Relevant,
		Streams: func(ctx context.Context, msg uuid.UUID) (reply.Stream, error) { return streams.Open(ctx, msg) },
	})
	a.indexer = indexer.New(codec, commands.NewKnowledge(store, codec, nil), blobstore.New(pool),
		fetch.New(fetch.Config{AllowCIDRs: cfg.FetchAllow}), queue, extract.Limits{})
	return a, nil
}

// run serves HTTP on ln (when the API is on) and runs the consumers (when
// workers are on) until ctx ends, then shuts down gracefully.
func (a *application) run(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 3)

	wg.Go(func() { a.progress.Run(ctx) })
	wg.Go(func() { a.sweepRateLimits(ctx) })
	if a.cfg.Workers {
		router, err := a.newRouter()
		if err != nil {
			return err
		}
		wg.Go(func() {
			if err := router.Run(ctx); err != nil {
				errc <- fmt.Errorf("router: %w", err)
			}
		})
		defer router.Close()
		wg.Go(func() { a.queue.Work(ctx, reply.JobKind, a.cfg.ReplyWorkers, a.replies.Run) })
		wg.Go(func() { a.queue.Work(ctx, indexer.JobKind, a.cfg.IndexWorkers, a.indexer.Run) })
	}
	if a.cfg.API && ln != nil {
		wg.Go(func() { a.hub.Run(ctx) })
		srv := &http.Server{Handler: a.api.Handler(), ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http: %w", err)
			}
		})
		defer func() {
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer scancel()
			if err := srv.Shutdown(sctx); err != nil {
				slog.Warn("http shutdown", "err", err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	a.store.Close()
	return err
}

// sweepRateLimits deletes ended rate limit windows now and then.
func (a *application) sweepRateLimits(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.api.Limiter.Sweep(ctx); err != nil && ctx.Err() == nil {
				slog.WarnContext(ctx, "sweep rate limits", "err", err)
			}
		}
	}
}

func (a *application) newRouter() (interface {
	Run(context.Context) error
	Close() error
}, error) {
	// Watermill narrates every subscription at info level; keep that for
	// debug logs so info stays about our own work.
	logger := watermill.NewSlogLoggerWithLevelMapping(slog.Default(), map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	router, err := eventbus.NewRouter(logger, eventbus.NewDeadLetters(a.pool))
	if err != nil {
		return nil, err
	}
	subs := eventbus.Subscribers(a.store, a.pool, eventbus.SubscriberConfig{Logger: logger, NackDelay: 200 * time.Millisecond})
	for _, p := range projections.All(a.pool, a.codec) {
		if err := eventbus.AddConsumer(router, subs, p.Name(), p.Apply); err != nil {
			return nil, err
		}
	}
	if err := eventbus.AddConsumer(router, subs, reply.Name, reply.NewDispatcher(a.queue).Handle); err != nil {
		return nil, err
	}
	if err := eventbus.AddConsumer(router, subs, indexer.Name, a.indexer.Handle); err != nil {
		return nil, err
	}
	return router, nil
}

// projectionNames lists the read models, for the CLI.
func projectionNames(pool *pgxpool.Pool, codec *event.Codec) []string {
	var names []string
	for _, p := range projections.All(pool, codec) {
		names = append(names, p.Name())
	}
	slices.Sort(names)
	return names
}
