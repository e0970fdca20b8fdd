package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestRateLimitHoldsAcrossProcesses runs two API servers on one database:
// the organization's budget is shared, every answer carries the headers and
// the refused one says when to retry.
func TestRateLimitHoldsAcrossProcesses(t *testing.T) {
	cfg := testConfig()
	cfg.RateLimit = 10
	a := startServer(t, cfg, nil)
	b := startServer(t, cfg, a.pool)
	c := a.newOrg(t, "A")
	other := a.newOrg(t, "B")

	var ok, limited int
	for i := range 14 {
		s := a
		if i%2 == 1 {
			s = b
		}
		r := s.do(t, request{method: "GET", path: "/api/v1/assistants", header: c.headers()})
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
			if r.Header.Get(h) == "" {
				t.Errorf("request %d lacks %s", i, h)
			}
		}
		switch r.Status {
		case 200:
			ok++
		case 429:
			limited++
			if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 || n > 3600 {
				t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
			}
			if r.Env.Status != "error" || r.Env.StatusCode != 429 {
				t.Errorf("429 body = %s", r.Body)
			}
		default:
			t.Errorf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if ok != 10 || limited != 4 {
		t.Errorf("ok=%d limited=%d, want 10 and 4", ok, limited)
	}
	if r := b.do(t, request{method: "GET", path: "/api/v1/assistants", header: other.headers()}); r.Status != 200 {
		t.Errorf("another organization is limited too: %d", r.Status)
	}
}

func TestCORSPreflight(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	req, _ := http.NewRequest(http.MethodOptions, s.URL+"/api/v1/sessions/", nil)
	req.Header.Set("Origin", "https://shop.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent ||
		res.Header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" ||
		res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "A")
	h := c.headers()
	h["Idempotency-Key"] = "create-bot-1"
	first := s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"Bot"}`})
	wantStatus(t, first, 201)
	n := s.eventCount(t)
	second := s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"Bot"}`})
	if second.Status != 201 || second.data(t)["id"] != first.data(t)["id"] {
		t.Errorf("retry = %d %s, want the same assistant", second.Status, second.Body)
	}
	if s.eventCount(t) != n {
		t.Errorf("retry appended events")
	}

	// Concurrent retries of one message: one message, one reply.
	r := s.do(t, request{method: "POST", path: "/api/v1/sessions", header: c.headers(),
		body: fmt.Sprintf(`{"assistant_id":%q}`, first.data(t)["id"])})
	session := r.data(t)["id"].(string)
	h["Idempotency-Key"] = "msg-1"
	var wg sync.WaitGroup
	ids := make([]any, 6)
	for i := range ids {
		wg.Go(func() {
			r := s.do(t, request{method: "POST", path: "/api/v1/sessions/" + session + "/messages", header: h, body: `{"content":"hi"}`})
			if r.Status != 201 {
				t.Errorf("retry %d: %d %s", i, r.Status, r.Body)
				return
			}
			ids[i] = r.data(t)["id"]
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("retries answered different messages: %v", ids)
		}
	}
	r = s.do(t, request{method: "GET", path: "/api/v1/sessions/" + session + "/messages", header: c.headers()})
	if items := r.data(t)["items"].([]any); len(items) != 2 {
		t.Errorf("history has %d messages, want the message and its reply", len(items))
	}
}

func TestPanicAnswersEnvelope(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	s.app.api.Echo().GET("/panic", func(echo.Context) error { panic("boom") })
	res, err := http.Get(s.URL + "/panic") // not in the API document: no validation
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r response
	r.Status = res.StatusCode
	if err := json.NewDecoder(res.Body).Decode(&r.Env); err != nil {
		t.Fatal(err)
	}
	r.Body, _ = json.Marshal(r.Env)
	if r.Status != 500 || r.Env.Status != "error" || r.Env.Detail != "Internal server error" {
		t.Errorf("panic: %d %s", r.Status, r.Body)
	}
	// Still serving.
	wantStatus(t, s.do(t, request{method: "GET", path: "/healthz"}), 200)
}

// TestCorrelationID carries the client's correlation id into the events a
// request appends, and into the events the reply worker appends after it.
func TestCorrelationID(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "A")
	h := c.headers()
	h["X-Correlation-Id"] = "0b8f4c3e-1d2a-4e5f-8a9b-7c6d5e4f3a2b"
	r := s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"A"}`})
	if r.Header.Get("X-Correlation-Id") != h["X-Correlation-Id"] {
		t.Errorf("answered correlation id %q", r.Header.Get("X-Correlation-Id"))
	}
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions", header: h, body: fmt.Sprintf(`{"assistant_id":%q}`, r.data(t)["id"])})
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions/" + r.data(t)["id"].(string) + "/messages", header: h, body: `{"content":"hi"}`})
	wantStatus(t, r, 201)
	var n, other int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE correlation_id = $1), count(*) FILTER (WHERE correlation_id <> $1)
		FROM events WHERE stream_id NOT LIKE 'organization-%'`, h["X-Correlation-Id"]).Scan(&n, &other); err != nil {
		t.Fatal(err)
	}
	if n != 4 || other != 0 { // assistant, session, message, reply
		t.Errorf("%d events carry the correlation id, %d do not", n, other)
	}
}
