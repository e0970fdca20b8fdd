package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// fixture creates one of every resource for an organization and returns
// their ids.
type fixture struct {
	assistant, session, conversation, knowledge, widget, contextRef string
}

func makeFixture(t *testing.T, s *testServer, c creds) fixture {
	t.Helper()
	h := c.headers()
	var f fixture
	r := s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"A"}`})
	wantStatus(t, r, 201)
	f.assistant = r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions", header: h, body: fmt.Sprintf(`{"assistant_id":%q}`, f.assistant)})
	wantStatus(t, r, 201)
	f.session = r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/conversations", header: h,
		body: fmt.Sprintf(`{"assistant_id":%q,"customer_id":"cust-1"}`, f.assistant)})
	wantStatus(t, r, 201)
	f.conversation = r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/knowledge/qa", header: h, body: `{"question":"Secret plan?","answer":"Org A only."}`})
	wantStatus(t, r, 201)
	f.knowledge = r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/widget-configs", header: h, body: `{"title":"Help"}`})
	wantStatus(t, r, 201)
	f.widget = r.data(t)["id"].(string)
	f.contextRef = "user-a"
	r = s.do(t, request{method: "POST", path: "/api/v1/contexts", header: h, body: `{"user_reference":"user-a","traits":{"x":1}}`})
	wantStatus(t, r, 201)
	return f
}

// routes returns a request for every route that addresses a resource of f.
func (f fixture) routes() []request {
	return []request{
		{method: "GET", path: "/api/v1/assistants/" + f.assistant},
		{method: "PATCH", path: "/api/v1/assistants/" + f.assistant, body: `{"name":"stolen"}`},
		{method: "DELETE", path: "/api/v1/assistants/" + f.assistant},
		{method: "GET", path: "/api/v1/sessions/" + f.session},
		{method: "GET", path: "/api/v1/sessions/" + f.session + "/messages"},
		{method: "POST", path: "/api/v1/sessions/" + f.session + "/messages", body: `{"content":"hi"}`},
		{method: "POST", path: "/api/v1/sessions/" + f.session + "/end"},
		{method: "GET", path: "/api/v1/conversations/" + f.conversation},
		{method: "GET", path: "/api/v1/conversations/" + f.conversation + "/messages"},
		{method: "POST", path: "/api/v1/conversations/" + f.conversation + "/messages", body: `{"content":"hi"}`},
		{method: "POST", path: "/api/v1/conversations/" + f.conversation + "/end"},
		{method: "GET", path: "/api/v1/contexts/" + f.contextRef},
		{method: "PATCH", path: "/api/v1/contexts/" + f.contextRef, body: `{"traits":{"y":2}}`},
		{method: "DELETE", path: "/api/v1/contexts/" + f.contextRef},
		{method: "GET", path: "/api/v1/knowledge/" + f.knowledge},
		{method: "DELETE", path: "/api/v1/knowledge/" + f.knowledge},
		{method: "GET", path: "/api/v1/widget-configs/" + f.widget},
		{method: "PATCH", path: "/api/v1/widget-configs/" + f.widget, body: `{"title":"stolen"}`},
		{method: "DELETE", path: "/api/v1/widget-configs/" + f.widget},
	}
}

func TestTenantIsolation(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	a, b := s.newOrg(t, "A"), s.newOrg(t, "B")
	fa := makeFixture(t, s, a)
	before := s.eventCount(t)

	for _, r := range fa.routes() {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			r.header = b.headers()
			got := s.do(t, r)
			if got.Status != http.StatusNotFound || got.Env.Status != "error" {
				t.Errorf("org B got %d %s, want 404 envelope", got.Status, got.Body)
			}
		})
	}
	// Starting a thread on another organization's assistant is refused too.
	got := s.do(t, request{method: "POST", path: "/api/v1/sessions", header: b.headers(),
		body: fmt.Sprintf(`{"assistant_id":%q}`, fa.assistant)})
	if got.Status != http.StatusUnprocessableEntity {
		t.Errorf("session on foreign assistant: %d %s", got.Status, got.Body)
	}
	// Lists and search never show A's data to B.
	for _, path := range []string{"/api/v1/assistants", "/api/v1/conversations", "/api/v1/knowledge",
		"/api/v1/widget-configs", "/api/v1/knowledge/search?q=secret+plan"} {
		got := s.do(t, request{method: "GET", path: path, header: b.headers()})
		wantStatus(t, got, 200)
		if items := got.data(t)["items"].([]any); len(items) != 0 {
			t.Errorf("%s shows org B %d of org A's items", path, len(items))
		}
	}
	if after := s.eventCount(t); after != before {
		t.Errorf("refused requests appended %d events", after-before)
	}
	// A's own access still works.
	got = s.do(t, request{method: "GET", path: "/api/v1/assistants/" + fa.assistant, header: a.headers()})
	wantStatus(t, got, 200)
}

func TestWidgetTokenScope(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "A")
	f := makeFixture(t, s, c)
	r := s.do(t, request{method: "POST", path: "/api/v1/auth/widget-token", body: fmt.Sprintf(`{"client_id":%q}`, c.ClientID)})
	wantStatus(t, r, 200)
	var tok struct{ Token string }
	mustJSON(t, r.Body, &tok)
	h := bearer(tok.Token)

	widgetRoutes := map[string]bool{
		"GET /api/v1/sessions/" + f.session: true, "GET /api/v1/sessions/" + f.session + "/messages": true,
		"POST /api/v1/sessions/" + f.session + "/messages": true, "POST /api/v1/sessions/" + f.session + "/end": true,
		"GET /api/v1/widget-configs/" + f.widget: true,
	}
	outside := append(f.routes(),
		request{method: "GET", path: "/api/v1/assistants"},
		request{method: "POST", path: "/api/v1/assistants", body: `{"name":"x"}`},
		request{method: "GET", path: "/api/v1/conversations"},
		request{method: "POST", path: "/api/v1/conversations", body: fmt.Sprintf(`{"assistant_id":%q}`, f.assistant)},
		request{method: "POST", path: "/api/v1/contexts", body: `{"user_reference":"u"}`},
		request{method: "GET", path: "/api/v1/knowledge"},
		request{method: "POST", path: "/api/v1/knowledge/qa", body: `{"question":"q","answer":"a"}`},
		request{method: "GET", path: "/api/v1/knowledge/search?q=x"},
		request{method: "GET", path: "/api/v1/widget-configs"},
		request{method: "POST", path: "/api/v1/widget-configs", body: `{}`},
	)
	for _, r := range outside {
		if widgetRoutes[r.method+" "+r.path] {
			continue
		}
		r.header = h
		got := s.do(t, r)
		if got.Status != http.StatusForbidden {
			t.Errorf("widget token on %s %s: %d %s, want 403", r.method, r.path, got.Status, got.Body)
		}
	}
	// Inside its scope it works.
	got := s.do(t, request{method: "POST", path: "/api/v1/sessions", header: h, body: fmt.Sprintf(`{"assistant_id":%q}`, f.assistant)})
	wantStatus(t, got, 201)

	// Tampered or foreign tokens are refused.
	parts := strings.Split(tok.Token, ".")
	for name, bad := range map[string]string{
		"garbage":         "not-a-jwt",
		"bad signature":   parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"alg none":        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".",
		"swapped payload": parts[0] + ".eyJvcmciOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiLCJzY29wZSI6IndpZGdldCJ9." + parts[2],
	} {
		got := s.do(t, request{method: "GET", path: "/api/v1/sessions/" + f.session, header: bearer(bad)})
		if got.Status != http.StatusUnauthorized {
			t.Errorf("%s token: %d, want 401", name, got.Status)
		}
	}
}
