// Package ollama is the client of an Ollama server that the reply worker
// chats with and the embedder embeds with, over Ollama's own Go client
// (github.com/ollama/ollama/api).
//
// It adds what a support chat needs around that client: a bounded call
// (RequestTimeout), a bounded wait for the first token (FirstTokenTimeout),
// retries of transport and server errors only while nothing has been
// streamed yet, detection of a stream cut short (the api package reports a
// dropped connection mid-stream as success), and errors callers can act on:
// ErrUnavailable means "fall back to something else", ErrModelNotFound means
// the configuration names a model the server does not have.
//
// Tests run against a real Ollama server; see package ollamatest.
package ollama

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/api"
)

var (
	// ErrUnavailable is wrapped by errors that mean the server could not
	// serve the call: it could not be reached, failed with a 5xx or 429,
	// dropped the connection, sent no token within FirstTokenTimeout, or did
	// not finish within RequestTimeout, after any retries. Callers fall back
	// (e.g. to the extractive responder). If Chat had already delivered
	// deltas, the caller has shown part of an answer: it decides whether a
	// fallback may follow it.
	ErrUnavailable = errors.New("ollama unavailable")

	// ErrModelNotFound is wrapped by errors for a model the server does not
	// have (HTTP 404). It is a configuration problem, not an outage, so it
	// is not ErrUnavailable and is never retried; callers that fall back on
	// it too should log it loudly.
	ErrModelNotFound = errors.New("ollama model not found")
)

// Config configures a Client. Zero durations and counts are not defaults:
// start from DefaultConfig.
type Config struct {
	Host       string // base URL, e.g. http://127.0.0.1:11434
	ChatModel  string // for Chat; may be empty when only Embed is used
	EmbedModel string // for Embed; may be empty when only Chat is used
	// KeepAlive is how long the server keeps a model loaded after a call;
	// 0 leaves it to the server (OLLAMA_KEEP_ALIVE), negative keeps it
	// loaded indefinitely.
	KeepAlive time.Duration
	NumCtx    int // context window in tokens; 0 leaves it to the server
	// NumPredict caps generated tokens; required, because a model that
	// never emits end-of-sequence would otherwise run to the timeout.
	NumPredict  int
	Temperature float64 // 0 is greedy (deterministic)
	// RequestTimeout bounds a whole call, retries and backoff included.
	RequestTimeout time.Duration
	// FirstTokenTimeout bounds each Chat attempt's wait for its first
	// streamed chunk (model load plus prompt evaluation); 0 means only
	// RequestTimeout applies. An attempt that times out counts as
	// unavailable and is retried.
	FirstTokenTimeout time.Duration
	// Retries is how many times a call is repeated after a transport error,
	// a 5xx or 429, or a first-token timeout, and only while no delta has
	// been delivered.
	Retries int
}

// DefaultConfig returns the configuration for a local Ollama.
func DefaultConfig() Config {
	return Config{
		Host:              "http://127.0.0.1:11434",
		KeepAlive:         30 * time.Minute,
		NumCtx:            4096,
		NumPredict:        512,
		Temperature:       0.2,
		RequestTimeout:    2 * time.Minute,
		FirstTokenTimeout: 30 * time.Second,
		Retries:           2,
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Host); err != nil {
		errs = append(errs, fmt.Errorf("host %q: %w", c.Host, err))
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("host %q: want http(s)://host:port", c.Host))
	}
	if c.ChatModel == "" && c.EmbedModel == "" {
		errs = append(errs, errors.New("no chat model and no embed model"))
	}
	if c.NumCtx < 0 {
		errs = append(errs, fmt.Errorf("num ctx %d: want 0 (server default) or more", c.NumCtx))
	}
	if c.NumPredict <= 0 {
		errs = append(errs, fmt.Errorf("num predict %d: want more than 0", c.NumPredict))
	}
	if c.Temperature < 0 || c.Temperature > 2 {
		errs = append(errs, fmt.Errorf("temperature %g: want 0 to 2", c.Temperature))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("request timeout %s: want more than 0", c.RequestTimeout))
	}
	if c.FirstTokenTimeout < 0 {
		errs = append(errs, fmt.Errorf("first token timeout %s: want 0 (none) or more", c.FirstTokenTimeout))
	}
	if c.Retries < 0 || c.Retries > 10 {
		errs = append(errs, fmt.Errorf("retries %d: want 0 to 10", c.Retries))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ollama config: %w", err)
	}
	return nil
}

// Message is one turn of a conversation.
type Message struct {
	Role    string // system, user or assistant
	Content string
}

// Client talks to one Ollama server. It is safe for concurrent use.
type Client struct {
	cfg Config
	api *api.Client
	// backoff returns the pause before retry n (0-based); tests shorten it.
	backoff func(n int) time.Duration
}

// New returns a client for a valid cfg. It does not contact the server.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(cfg.Host) // checked by Validate
	// No http.Client timeout: calls are bounded by their context, which
	// unlike a client timeout also stops a stream that is still flowing.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	return &Client{cfg: cfg, api: api.NewClient(base, hc), backoff: backoff}, nil
}

// ChatModel is the model Chat uses, for recording who made a reply.
func (c *Client) ChatModel() string { return c.cfg.ChatModel }

// EmbedModel is the model Embed uses, for keying cached embeddings.
func (c *Client) EmbedModel() string { return c.cfg.EmbedModel }

// Chat streams the model's answer to msgs, calling onDelta with each chunk
// of text as it arrives, and returns the whole text. An error from onDelta
// stops generation and is returned wrapped. Cancelling ctx stops generation
// on the server too (the connection is closed). On an error after deltas
// were delivered, the returned text is what was delivered.
func (c *Client) Chat(ctx context.Context, msgs []Message, onDelta func(string) error) (string, error) {
	model := c.cfg.ChatModel
	if model == "" {
		return "", errors.New("ollama chat: no chat model configured")
	}
	if len(msgs) == 0 {
		return "", fmt.Errorf("ollama chat %s: no messages", model)
	}
	req := &api.ChatRequest{
		Model:     model,
		Messages:  make([]api.Message, len(msgs)),
		Stream:    new(true),
		KeepAlive: c.keepAlive(),
		Options:   c.options(true),
	}
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return "", fmt.Errorf("ollama chat %s: message %d: role %q: want system, user or assistant", model, i, m.Role)
		}
		req.Messages[i] = api.Message{Role: m.Role, Content: m.Content}
	}

	ctx, cancel := context.WithTimeoutCause(ctx, c.cfg.RequestTimeout, errRequestTimeout)
	defer cancel()
	var text strings.Builder
	for attempt := 0; ; attempt++ {
		streamed, err := c.chatOnce(ctx, req, &text, onDelta)
		if err == nil {
			return text.String(), nil
		}
		if retry := !streamed && attempt < c.cfg.Retries && errors.Is(err, ErrUnavailable); !retry || !c.pause(ctx, attempt) {
			return text.String(), c.wrap(ctx, "chat", model, attempt, err)
		}
	}
}

var (
	errRequestTimeout = errors.New("request timeout")
	errFirstToken     = errors.New("no token within the first token timeout")
	errCutShort       = errors.New("stream ended before the model finished")
)

// chatOnce makes one attempt, appending delivered text to text. It reports
// whether any delta was delivered, and classifies its error (see classify).
func (c *Client) chatOnce(ctx context.Context, req *api.ChatRequest, text *strings.Builder, onDelta func(string) error) (streamed bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// The first chunk and the first-token timer race; whichever moves the
	// state first wins, so a late chunk cannot revive a timed-out attempt.
	const waiting, started, timedOut = 0, 1, 2
	var state atomic.Int32
	if d := c.cfg.FirstTokenTimeout; d > 0 {
		t := time.AfterFunc(d, func() {
			if state.CompareAndSwap(waiting, timedOut) {
				cancel(errFirstToken)
			}
		})
		defer t.Stop()
	}

	var done bool
	var deliverErr error
	err = c.api.Chat(ctx, req, func(r api.ChatResponse) error {
		if !state.CompareAndSwap(waiting, started) && state.Load() == timedOut {
			return errFirstToken
		}
		if r.Message.Content != "" {
			streamed = true
			text.WriteString(r.Message.Content)
			if err := onDelta(r.Message.Content); err != nil {
				deliverErr = err
				return err
			}
		}
		done = done || r.Done
		return nil
	})
	switch {
	case deliverErr != nil:
		return streamed, fmt.Errorf("deliver delta: %w", deliverErr)
	case state.Load() == timedOut && ctx.Err() != nil:
		return false, fmt.Errorf("%w: %w after %s", ErrUnavailable, errFirstToken, c.cfg.FirstTokenTimeout)
	case err == nil && !done:
		// api.Client.Chat ends quietly when the response body ends or
		// fails, so a dropped connection looks like a short answer.
		err = errCutShort
	}
	if err != nil {
		return streamed, classify(err)
	}
	return streamed, nil
}

// Embed returns one vector per text, in order, from one batched call to
// /api/embed. The server normalises vectors to unit length and truncates a
// text longer than the context window.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	model := c.cfg.EmbedModel
	if model == "" {
		return nil, errors.New("ollama embed: no embed model configured")
	}
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	for i, s := range texts {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("ollama embed %s: text %d is blank", model, i)
		}
	}
	req := &api.EmbedRequest{
		Model:     model,
		Input:     texts,
		KeepAlive: c.keepAlive(),
		Options:   c.options(false),
	}

	ctx, cancel := context.WithTimeoutCause(ctx, c.cfg.RequestTimeout, errRequestTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		resp, err := c.api.Embed(ctx, req)
		if err == nil {
			if err := checkVectors(resp.Embeddings, len(texts)); err != nil {
				return nil, fmt.Errorf("ollama embed %s: %w", model, err)
			}
			return resp.Embeddings, nil
		}
		err = classify(err)
		if retry := attempt < c.cfg.Retries && errors.Is(err, ErrUnavailable); !retry || !c.pause(ctx, attempt) {
			return nil, c.wrap(ctx, "embed", model, attempt, err)
		}
	}
}

func checkVectors(vs [][]float32, want int) error {
	if len(vs) != want {
		return fmt.Errorf("got %d vectors for %d texts", len(vs), want)
	}
	for i, v := range vs {
		if len(v) == 0 || len(v) != len(vs[0]) {
			return fmt.Errorf("vector %d has %d dimensions, vector 0 has %d", i, len(v), len(vs[0]))
		}
	}
	return nil
}

func (c *Client) keepAlive() *api.Duration {
	if c.cfg.KeepAlive == 0 {
		return nil
	}
	return &api.Duration{Duration: c.cfg.KeepAlive}
}

func (c *Client) options(chat bool) map[string]any {
	o := map[string]any{}
	if c.cfg.NumCtx > 0 {
		o["num_ctx"] = c.cfg.NumCtx
	}
	if chat {
		o["num_predict"] = c.cfg.NumPredict
		o["temperature"] = c.cfg.Temperature
	}
	return o
}

// classify wraps err with ErrUnavailable when another attempt might succeed
// (anything but a 4xx answer) and with ErrModelNotFound for a 404.
func classify(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	var se api.StatusError
	if errors.As(err, &se) {
		switch {
		case se.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrModelNotFound, err)
		case se.StatusCode == http.StatusTooManyRequests || se.StatusCode >= 500:
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		default:
			return err
		}
	}
	var ae api.AuthorizationError
	if errors.As(err, &ae) {
		return err
	}
	// Transport errors (refused, reset, EOF), an error line in the stream
	// (a runner that crashed), a body that is not JSON.
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// wrap gives the final error of a call its context. When ctx ended, that
// wins over whatever the attempt saw: a caller's cancellation or deadline is
// returned as such (the caller gave up; nothing to fall back from), our own
// RequestTimeout as ErrUnavailable and context.DeadlineExceeded.
func (c *Client) wrap(ctx context.Context, op, model string, attempt int, err error) error {
	if ctx.Err() != nil {
		if context.Cause(ctx) == errRequestTimeout {
			return fmt.Errorf("ollama %s %s: %w: %w after %s", op, model, ErrUnavailable, context.DeadlineExceeded, c.cfg.RequestTimeout)
		}
		return fmt.Errorf("ollama %s %s: %w", op, model, ctx.Err())
	}
	if attempt > 0 {
		return fmt.Errorf("ollama %s %s (%d attempts): %w", op, model, attempt+1, err)
	}
	return fmt.Errorf("ollama %s %s: %w", op, model, err)
}

// pause waits before retry n; false if ctx ended first.
func (c *Client) pause(ctx context.Context, n int) bool {
	t := time.NewTimer(c.backoff(n))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// backoff doubles from 250ms up to 4s, with jitter so that workers retrying
// together do not hit a recovering server in step.
func backoff(n int) time.Duration {
	d := min(250*time.Millisecond<<n, 4*time.Second)
	return d/2 + rand.N(d/2)
}
