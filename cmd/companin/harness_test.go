package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/adapters/httpapi"
	"github.com/companin/companin/adapters/pgtest"
	"github.com/companin/companin/commands"
	"github.com/companin/companin/projections"
)

func TestMain(m *testing.M) {
	setupLogging("warn")
	pgtest.Main(m)
}

// testServer is the real binary's application on a real port over a fresh
// database.
type testServer struct {
	URL  string
	pool *pgxpool.Pool
	app  *application
}

type creds struct {
	OrgID    uuid.UUID
	ClientID string
	Secret   string
}

func testConfig() config {
	return config{RateLimit: 1000, ReplyWait: 10 * time.Second, ProjectionWait: 5 * time.Second,
		API: true, Workers: true, LogLevel: "warn", ReplyWorkers: 2, IndexWorkers: 2, MaxUpload: 2 << 20,
		FetchAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
}

// startServer runs the application until the test ends. pool may be shared
// by several servers to stand for several processes.
func startServer(t *testing.T, cfg config, pool *pgxpool.Pool) *testServer {
	t.Helper()
	return startServerOn(t, cfg, pool)
}

// startServerTB is startServer for benchmarks.
func startServerTB(tb testing.TB, cfg config) *testServer { return startServerOn(tb, cfg, nil) }

func startServerOn(t testing.TB, cfg config, pool *pgxpool.Pool) *testServer {
	t.Helper()
	if pool == nil {
		pool = pgtest.Pool(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, err := newApplication(ctx, cfg, pool)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return &testServer{URL: "http://" + ln.Addr().String(), pool: pool, app: app}
}

// newOrg creates an organization the way `companin org create` does.
func (s *testServer) newOrg(t *testing.T, name string) creds {
	t.Helper()
	ctx := context.Background()
	c := creds{OrgID: uuid.New(), ClientID: "ck_" + randomHex(12), Secret: "cs_" + randomToken(32)}
	res, err := s.app.orgs.Create(ctx, commands.Meta{Actor: "test"}, commands.CreateOrganization{
		ID: c.OrgID, Name: name, ClientID: c.ClientID, SecretHash: httpapi.HashSecret(c.Secret)})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.app.progress.WaitFor(wctx, projections.Accounts, res.Position); err != nil {
		t.Fatal(err)
	}
	return c
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	Env    struct {
		Status     string          `json:"status"`
		StatusCode int             `json:"status_code"`
		Detail     string          `json:"detail"`
		Data       json.RawMessage `json:"data"`
	}
}

// data decodes the envelope's data into a map.
func (r response) data(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Env.Data, &m); err != nil {
		t.Fatalf("data %s: %v", r.Env.Data, err)
	}
	return m
}

type request struct {
	method, path string
	header       map[string]string
	body         any // string, []byte or a value to marshal
}

func (s *testServer) do(t *testing.T, r request) response {
	t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(r.method, s.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	out := response{Status: res.StatusCode, Header: res.Header}
	out.Body, err = io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Body) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.Body, &out.Env); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", r.method, r.path, out.Body)
		}
	}
	validate(t, req, out)
	return out
}

// as returns headers authenticating with c's API key.
func (c creds) headers() map[string]string {
	return map[string]string{"X-API-Key": c.ClientID, "X-API-Secret": c.Secret}
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func (s *testServer) eventCount(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status = %d, want %d; body %s", r.Status, want, r.Body)
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
