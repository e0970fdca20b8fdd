package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestBadInputIsRefusedAndWritesNothing sends malformed, unknown, mistyped,
// missing, oversized and non-UTF-8 input to every writing route: each gets a
// 4xx envelope and the event log does not change.
func TestBadInputIsRefusedAndWritesNothing(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "A")
	f := makeFixture(t, s, c)
	huge := `{"content":"` + strings.Repeat("x", 2<<20) + `"}`
	invalidUTF8 := []byte("{\"name\":\"\xff\xfe\"}")

	type route struct {
		method, path string
		valid        string // a body that would succeed, to derive bad ones from
	}
	routes := []route{
		{"POST", "/api/v1/assistants", `{"name":"x"}`},
		{"PATCH", "/api/v1/assistants/" + f.assistant, `{"name":"x"}`},
		{"POST", "/api/v1/sessions", fmt.Sprintf(`{"assistant_id":%q}`, f.assistant)},
		{"POST", "/api/v1/sessions/" + f.session + "/messages", `{"content":"hi"}`},
		{"POST", "/api/v1/conversations", fmt.Sprintf(`{"assistant_id":%q}`, f.assistant)},
		{"POST", "/api/v1/conversations/" + f.conversation + "/messages", `{"content":"hi"}`},
		{"POST", "/api/v1/contexts", `{"user_reference":"u2"}`},
		{"PATCH", "/api/v1/contexts/" + f.contextRef, `{"traits":{"a":1}}`},
		{"POST", "/api/v1/knowledge/qa", `{"question":"q","answer":"a"}`},
		{"POST", "/api/v1/widget-configs", `{"title":"t"}`},
		{"PATCH", "/api/v1/widget-configs/" + f.widget, `{"title":"t"}`},
	}
	bad := []struct {
		name string
		body any
		ct   string
	}{
		{"malformed", `{"name":`, ""},
		{"not an object", `[1,2]`, ""},
		{"trailing data", `{} {}`, ""},
		{"empty", ``, ""},
		{"unknown field", `{"nope":1}`, ""},
		{"wrong types", `{"name":1,"assistant_id":2,"content":3,"user_reference":4,"question":5,"traits":"x","title":6}`, ""},
		{"missing fields", `{}`, ""},
		{"oversized", huge, ""},
		{"invalid utf-8", invalidUTF8, ""},
		{"wrong media type", `{"name":"x"}`, "text/plain"},
	}
	before := s.eventCount(t)
	for _, rt := range routes {
		for _, b := range bad {
			if b.name == "missing fields" && (strings.HasPrefix(rt.method, "PATCH") || strings.Contains(rt.path, "widget-configs")) {
				continue // every field of a patch or widget config is optional
			}
			t.Run(rt.method+" "+rt.path+" "+b.name, func(t *testing.T) {
				h := c.headers()
				if b.ct != "" {
					h["Content-Type"] = b.ct
				}
				got := s.do(t, request{method: rt.method, path: rt.path, header: h, body: b.body})
				if got.Status < 400 || got.Status >= 500 || got.Env.Status != "error" || got.Env.StatusCode != got.Status {
					t.Errorf("%d %s, want a 4xx envelope", got.Status, truncate(got.Body))
				}
			})
		}
	}
	// Unknown ids on every id route.
	missing := "00000000-0000-4000-8000-000000000000"
	for _, p := range []string{"/api/v1/assistants/", "/api/v1/sessions/", "/api/v1/conversations/",
		"/api/v1/knowledge/", "/api/v1/widget-configs/", "/api/v1/contexts/"} {
		for _, id := range []string{missing, "not-a-uuid"} {
			got := s.do(t, request{method: "GET", path: p + id, header: c.headers()})
			if got.Status != http.StatusNotFound || got.Env.Status != "error" {
				t.Errorf("GET %s%s: %d %s", p, id, got.Status, got.Body)
			}
		}
	}
	got := s.do(t, request{method: "POST", path: "/api/v1/sessions/" + missing + "/messages", header: c.headers(), body: `{"content":"x"}`})
	wantStatus(t, got, http.StatusNotFound)
	if after := s.eventCount(t); after != before {
		t.Errorf("bad input appended %d events", after-before)
	}
}

func TestEnvelopeOnRoutingErrors(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "A")
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1/nope", 404},
		{"GET", "/nope", 404},
		{"PUT", "/api/v1/assistants", 405},
		{"DELETE", "/api/v1/knowledge", 405},
		{"GET", "/api/v1/assistants?limit=1000", 422},
		{"GET", "/api/v1/assistants?cursor=bogus", 400},
	} {
		got := s.do(t, request{method: tc.method, path: tc.path, header: c.headers()})
		if got.Status != tc.want || got.Env.Status != "error" || got.Env.StatusCode != tc.want || got.Env.Detail == "" {
			t.Errorf("%s %s: %d %s, want %d envelope", tc.method, tc.path, got.Status, got.Body, tc.want)
		}
	}
	got := s.do(t, request{method: "GET", path: "/api/v1/assistants"})
	if got.Status != 401 || !strings.HasPrefix(got.Env.Detail, "Authentication required") || string(got.Env.Data) != "null" {
		t.Errorf("no credentials: %d %s", got.Status, got.Body)
	}
	wrong := s.do(t, request{method: "GET", path: "/api/v1/assistants", header: map[string]string{"X-API-Key": c.ClientID, "X-API-Secret": "wrong"}})
	unknown := s.do(t, request{method: "GET", path: "/api/v1/assistants", header: map[string]string{"X-API-Key": "ck_unknown", "X-API-Secret": "wrong"}})
	if wrong.Status != 401 || unknown.Status != 401 || string(wrong.Body) != string(unknown.Body) {
		t.Errorf("wrong secret %d %s vs unknown id %d %s: want the same 401", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
