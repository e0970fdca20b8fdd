package ollama_test

import (
	"context"
	"errors"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/companin/companin/adapters/ollama"
	"github.com/companin/companin/adapters/ollama/ollamatest"
)

// The tests run against a real Ollama (see ollamatest): by default one this
// process starts with a tiny random model, whose text is noise, so they check
// plumbing rather than content. They run one at a time: the server serves one
// request at a time, and queueing would distort the timing checks.

func TestMain(m *testing.M) { ollamatest.Main(m) }

var hello = []ollama.Message{
	{Role: "system", Content: "You are a helpful support assistant."},
	{Role: "user", Content: "Hello, how can I reset my password?"},
}

func newClient(t *testing.T, edit func(*ollama.Config)) *ollama.Client {
	t.Helper()
	cfg := ollamatest.Start(t).Config()
	if edit != nil {
		edit(&cfg)
	}
	c, err := ollama.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// collect returns an onDelta that records deltas.
func collect(deltas *[]string) func(string) error {
	return func(d string) error {
		*deltas = append(*deltas, d)
		return nil
	}
}

func TestConfigValidate(t *testing.T) {
	valid := ollama.DefaultConfig()
	valid.ChatModel = "m"
	allWrong := ollama.Config{NumCtx: -1, Temperature: -1, FirstTokenTimeout: -1, Retries: -1}
	tests := []struct {
		name string
		edit func(*ollama.Config)
		want []string // substrings of the error; none means valid
	}{
		{"default with a model", func(*ollama.Config) {}, nil},
		{"embed model only", func(c *ollama.Config) { c.ChatModel, c.EmbedModel = "", "e" }, nil},
		{"no host", func(c *ollama.Config) { c.Host = "" }, []string{"host"}},
		{"host without scheme", func(c *ollama.Config) { c.Host = "127.0.0.1:11434" }, []string{"host"}},
		{"no models", func(c *ollama.Config) { c.ChatModel = "" }, []string{"no chat model"}},
		{"num predict unset", func(c *ollama.Config) { c.NumPredict = 0 }, []string{"num predict"}},
		{"everything wrong", func(c *ollama.Config) { *c = allWrong },
			[]string{"host", "no chat model", "num ctx", "num predict", "temperature", "request timeout", "first token timeout", "retries"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.edit(&cfg)
			err := cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors about %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
			if _, nerr := ollama.New(cfg); nerr == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

func TestChatStreamsDeltas(t *testing.T) {
	c := newClient(t, nil)
	var deltas []string
	text, err := c.Chat(context.Background(), hello, collect(&deltas))
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if text == "" || len(deltas) == 0 {
		t.Fatalf("Chat = %q with %d deltas, want text streamed in deltas", text, len(deltas))
	}
	if got := strings.Join(deltas, ""); got != text {
		t.Errorf("deltas joined = %q, want the returned text %q", got, text)
	}
	if c.ChatModel() == "" || c.EmbedModel() == "" {
		t.Errorf("ChatModel() = %q, EmbedModel() = %q, want the configured models", c.ChatModel(), c.EmbedModel())
	}
}

func TestChatNumPredictBoundsAnswer(t *testing.T) {
	texts := map[int]string{}
	for _, n := range []int{1, 4, 16} {
		c := newClient(t, func(cfg *ollama.Config) { cfg.NumPredict = n })
		var deltas []string
		text, err := c.Chat(context.Background(), hello, collect(&deltas))
		if err != nil {
			t.Fatalf("NumPredict %d: Chat: %v", n, err)
		}
		// Every delta holds at least one token.
		if len(deltas) == 0 || len(deltas) > n {
			t.Errorf("NumPredict %d: got %d deltas, want 1 to %d", n, len(deltas), n)
		}
		texts[n] = text
	}
	if len(texts[1]) > len(texts[16]) {
		t.Errorf("1 token gave %q, longer than 16 tokens %q", texts[1], texts[16])
	}
}

func TestChatCancelStopsGeneration(t *testing.T) {
	// Long enough to run for minutes unless cancellation works.
	c := newClient(t, func(cfg *ollama.Config) { cfg.NumPredict = longAnswer })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var deltas []string
	var cancelled time.Time
	text, err := c.Chat(ctx, hello, func(d string) error {
		deltas = append(deltas, d)
		if len(deltas) == 3 {
			cancelled = time.Now()
			cancel()
		}
		return nil
	})
	if cancelled.IsZero() {
		t.Fatalf("Chat = %q, %v before 3 deltas", text, err)
	}
	// Loose bounds: a busy CI machine.
	if took := time.Since(cancelled); took > 5*time.Second {
		t.Errorf("Chat returned %s after cancel, want promptly", took)
	}
	if !errors.Is(err, context.Canceled) || errors.Is(err, ollama.ErrUnavailable) {
		t.Errorf("Chat error = %v, want context.Canceled and not ErrUnavailable", err)
	}
	if got := strings.Join(deltas, ""); text != got {
		t.Errorf("Chat text = %q, want the delivered deltas %q", text, got)
	}

	// Whether the server then stops generating is Ollama's business, and
	// v0.6.8 sometimes does not: longAnswer keeps that from stalling the
	// tests after this one for more than seconds.
}

// longAnswer is long enough that an answer is still streaming when a test
// cancels it, and short enough (seconds of generation on the tiny model)
// that a server which misses the cancellation recovers quickly.
const longAnswer = 3000

func TestChatRequestTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	c := newClient(t, func(cfg *ollama.Config) {
		cfg.NumPredict = longAnswer
		cfg.RequestTimeout = timeout
	})
	start := time.Now()
	var deltas []string
	_, err := c.Chat(context.Background(), hello, collect(&deltas))
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ollama.ErrUnavailable) {
		t.Errorf("Chat error = %v, want context.DeadlineExceeded and ErrUnavailable", err)
	}
	if took < timeout || took > timeout+5*time.Second {
		t.Errorf("Chat took %s, want about %s", took, timeout)
	}
}

func TestChatCallerDeadlineIsNotUnavailable(t *testing.T) {
	c := newClient(t, func(cfg *ollama.Config) { cfg.NumPredict = longAnswer })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Chat(ctx, hello, func(string) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ollama.ErrUnavailable) {
		t.Errorf("Chat error = %v, want context.DeadlineExceeded and not ErrUnavailable: the caller gave up", err)
	}
}

func TestChatDeltaErrorStops(t *testing.T) {
	c := newClient(t, func(cfg *ollama.Config) { cfg.NumPredict = longAnswer })
	errGone := errors.New("client went away")
	start := time.Now()
	n := 0
	_, err := c.Chat(context.Background(), hello, func(string) error {
		n++
		return errGone
	})
	if !errors.Is(err, errGone) || errors.Is(err, ollama.ErrUnavailable) {
		t.Errorf("Chat error = %v, want the callback's error and not ErrUnavailable", err)
	}
	if n != 1 {
		t.Errorf("callback called %d times, want 1", n)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Chat took %s", took)
	}
}

func TestChatRejectsBadInput(t *testing.T) {
	c := newClient(t, nil)
	for _, msgs := range [][]ollama.Message{nil, {{Role: "tool", Content: "x"}}} {
		if _, err := c.Chat(context.Background(), msgs, func(string) error { return nil }); err == nil {
			t.Errorf("Chat(%v) = nil error", msgs)
		}
	}
	c = newClient(t, func(cfg *ollama.Config) { cfg.ChatModel = "" })
	if _, err := c.Chat(context.Background(), hello, func(string) error { return nil }); err == nil {
		t.Error("Chat without a chat model = nil error")
	}
}

func TestEmbed(t *testing.T) {
	c := newClient(t, nil)
	texts := []string{"How do I reset my password?", "Hoe wijzig ik mijn wachtwoord?", "How do I reset my password?"}
	vs, err := c.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if len(vs) != len(texts) {
		t.Fatalf("Embed returned %d vectors for %d texts", len(vs), len(texts))
	}
	dim := len(vs[0])
	for i, v := range vs {
		if len(v) != dim || dim == 0 {
			t.Fatalf("vector %d has %d dimensions, vector 0 has %d", i, len(v), dim)
		}
		if n := norm(v); math.Abs(n-1) > 1e-3 {
			t.Errorf("vector %d has norm %g, want 1", i, n)
		}
	}
	if cos := dot(vs[0], vs[2]); cos < 0.9999 {
		t.Errorf("same text in one batch: cosine %g, want 1", cos)
	}
	if cos := dot(vs[0], vs[1]); cos > 0.9999 {
		t.Errorf("different texts: cosine %g, want different vectors", cos)
	}

	again, err := c.Embed(context.Background(), texts[:1])
	if err != nil {
		t.Fatalf("Embed again: %v", err)
	}
	if cos := dot(vs[0], again[0]); cos < 0.9999 {
		t.Errorf("same text in another call: cosine %g, want 1 (deterministic)", cos)
	}

	if vs, err := c.Embed(context.Background(), nil); err != nil || len(vs) != 0 {
		t.Errorf("Embed(nil) = %v, %v; want no vectors, no error", vs, err)
	}
	if _, err := c.Embed(context.Background(), []string{"ok", " "}); err == nil {
		t.Error("Embed of a blank text = nil error")
	}
}

func TestUnknownModel(t *testing.T) {
	// A model the server lacks is a configuration error: reported as
	// ErrModelNotFound, not retried, not ErrUnavailable.
	c := newClient(t, func(cfg *ollama.Config) { cfg.ChatModel, cfg.EmbedModel = "no-such-model", "no-such-model" })
	_, err := c.Chat(context.Background(), hello, func(string) error { return nil })
	if !errors.Is(err, ollama.ErrModelNotFound) || errors.Is(err, ollama.ErrUnavailable) {
		t.Errorf("Chat error = %v, want ErrModelNotFound and not ErrUnavailable", err)
	}
	_, err = c.Embed(context.Background(), []string{"hello"})
	if !errors.Is(err, ollama.ErrModelNotFound) || errors.Is(err, ollama.ErrUnavailable) {
		t.Errorf("Embed error = %v, want ErrModelNotFound and not ErrUnavailable", err)
	}
}

func TestUnreachableHost(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	cfg := ollama.DefaultConfig()
	cfg.Host, cfg.ChatModel, cfg.EmbedModel = host, "m", "m"
	cfg.Retries = 2
	c, err := ollama.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Chat(context.Background(), hello, func(string) error { return nil })
	if !errors.Is(err, ollama.ErrUnavailable) || !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("Chat error = %v, want ErrUnavailable after 3 attempts", err)
	}
	_, err = c.Embed(context.Background(), []string{"hello"})
	if !errors.Is(err, ollama.ErrUnavailable) || !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("Embed error = %v, want ErrUnavailable after 3 attempts", err)
	}
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func norm(v []float32) float64 { return math.Sqrt(dot(v, v)) }

func BenchmarkChat(b *testing.B) {
	srv := ollamatest.Start(b)
	c, err := ollama.New(srv.Config())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Chat(context.Background(), hello, func(string) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmbed(b *testing.B) {
	srv := ollamatest.Start(b)
	c, err := ollama.New(srv.Config())
	if err != nil {
		b.Fatal(err)
	}
	texts := []string{"How do I reset my password?", "Hoe wijzig ik mijn wachtwoord?"}
	for b.Loop() {
		if _, err := c.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
	}
}
