package ollama_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companin/companin/adapters/ollama"
	"github.com/companin/companin/adapters/ollama/ollamatest"
)

// Faults a real server does not produce on demand (a 500, a connection reset
// mid-stream, a stall) come from a proxy in front of the real one: request n
// (from 1) gets fault(n) when it returns true, the real server otherwise.
type faultProxy struct {
	URL      string
	requests atomic.Int32
}

func startFaultProxy(t *testing.T, fault func(n int, w http.ResponseWriter, r *http.Request, upstream *url.URL) bool) (*faultProxy, ollama.Config) {
	t.Helper()
	srv := ollamatest.Start(t)
	upstream, err := url.Parse(srv.Host)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(upstream)
	rp.FlushInterval = -1 // stream each chunk as it comes
	p := &faultProxy{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(p.requests.Add(1))
		if !fault(n, w, r, upstream) {
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(hs.Close)
	p.URL = hs.URL
	cfg := srv.Config()
	cfg.Host = hs.URL
	return p, cfg
}

func failWith(status int) func(int, http.ResponseWriter, *http.Request, *url.URL) bool {
	return func(n int, w http.ResponseWriter, _ *http.Request, _ *url.URL) bool {
		if n > 1 {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"error":"injected failure"}`)
		return true
	}
}

func TestRetryAfterServerError(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			p, cfg := startFaultProxy(t, failWith(status))
			cfg.Retries = 1
			c, err := ollama.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var deltas []string
			text, err := c.Chat(context.Background(), hello, collect(&deltas))
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			if got := strings.Join(deltas, ""); text == "" || got != text {
				t.Errorf("Chat = %q, deltas %q: want the second attempt's answer, streamed", text, got)
			}
			if n := p.requests.Load(); n != 2 {
				t.Errorf("proxy saw %d requests, want 2", n)
			}

			p.requests.Store(0)
			if _, err := c.Embed(context.Background(), []string{"hello"}); err != nil {
				t.Fatalf("Embed: %v", err)
			}
			if n := p.requests.Load(); n != 2 {
				t.Errorf("proxy saw %d embed requests, want 2", n)
			}
		})
	}
}

func TestServerErrorWithoutRetriesIsUnavailable(t *testing.T) {
	p, cfg := startFaultProxy(t, failWith(http.StatusInternalServerError))
	cfg.Retries = 0
	c, err := ollama.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Chat(context.Background(), hello, func(string) error { return nil })
	if !errors.Is(err, ollama.ErrUnavailable) || !strings.Contains(err.Error(), "injected failure") {
		t.Errorf("Chat error = %v, want ErrUnavailable with the server's message", err)
	}
	if n := p.requests.Load(); n != 1 {
		t.Errorf("proxy saw %d requests, want 1", n)
	}
}

func TestClientErrorIsNotRetried(t *testing.T) {
	p, cfg := startFaultProxy(t, failWith(http.StatusBadRequest))
	cfg.Retries = 3
	c, err := ollama.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Chat(context.Background(), hello, func(string) error { return nil })
	if err == nil || errors.Is(err, ollama.ErrUnavailable) {
		t.Errorf("Chat error = %v, want a plain error", err)
	}
	if n := p.requests.Load(); n != 1 {
		t.Errorf("proxy saw %d requests, want 1", n)
	}
}

func TestResetAfterFirstTokenIsNotRetried(t *testing.T) {
	// The first response is cut after its first chunk by a TCP reset.
	p, cfg := startFaultProxy(t, func(n int, w http.ResponseWriter, r *http.Request, upstream *url.URL) bool {
		if n > 1 {
			return false
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel() // stops the real server's generation
		req, _ := http.NewRequestWithContext(ctx, r.Method, upstream.JoinPath(r.URL.Path).String(), r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("proxy: %v", err)
			return false
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
		if err != nil {
			t.Errorf("proxy: first line: %v", err)
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		w.Write(line)
		rc := http.NewResponseController(w)
		rc.Flush()
		conn, _, err := rc.Hijack()
		if err != nil {
			t.Errorf("proxy: hijack: %v", err)
			return true
		}
		conn.(*net.TCPConn).SetLinger(0) // close with RST
		conn.Close()
		return true
	})
	cfg.Retries = 3
	cfg.NumPredict = 100
	c, err := ollama.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var deltas []string
	text, err := c.Chat(context.Background(), hello, collect(&deltas))
	if !errors.Is(err, ollama.ErrUnavailable) {
		t.Errorf("Chat error = %v, want ErrUnavailable", err)
	}
	if len(deltas) != 1 || text != deltas[0] {
		t.Errorf("Chat = %q after deltas %q, want the one delta sent before the reset", text, deltas)
	}
	if n := p.requests.Load(); n != 1 {
		t.Errorf("proxy saw %d requests, want 1: no retry once a delta was delivered", n)
	}
}

func TestFirstTokenTimeoutRetries(t *testing.T) {
	// The first attempt stalls until the client gives up on it.
	p, cfg := startFaultProxy(t, func(n int, w http.ResponseWriter, r *http.Request, _ *url.URL) bool {
		if n > 1 {
			return false
		}
		// The server notices a client hanging up only once it has read
		// the request body.
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return true
	})
	// Long enough for the real server's answer on a loaded machine (other
	// test packages share the cores and the server runs one request at a
	// time), short enough for the stalled attempt to be cut.
	cfg.FirstTokenTimeout = 3 * time.Second
	cfg.Retries = 1
	c, err := ollama.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text, err := c.Chat(context.Background(), hello, func(string) error { return nil })
	if err != nil || text == "" {
		t.Fatalf("Chat = %q, %v; want the second attempt's answer", text, err)
	}
	if n := p.requests.Load(); n != 2 {
		t.Errorf("proxy saw %d requests, want 2", n)
	}

	// With no retries left, the stall is reported as unavailable.
	p.requests.Store(0)
	cfg.Retries = 0
	if c, err = ollama.New(cfg); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Chat(context.Background(), hello, func(string) error { return nil })
	if !errors.Is(err, ollama.ErrUnavailable) || !strings.Contains(err.Error(), "first token") {
		t.Errorf("Chat error = %v, want ErrUnavailable for the first token timeout", err)
	}
	if took := time.Since(start); took > cfg.FirstTokenTimeout+5*time.Second {
		t.Errorf("Chat took %s with a first token timeout of %s", took, cfg.FirstTokenTimeout)
	}
}
