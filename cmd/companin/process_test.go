package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestSplitProcesses runs the API and the workers as separate processes on
// one database, as at scale: the whole flow still works.
func TestSplitProcesses(t *testing.T) {
	apiCfg, workCfg := testConfig(), testConfig()
	apiCfg.Workers = false
	workCfg.API = false
	api := startServer(t, apiCfg, nil)
	startServer(t, workCfg, api.pool)
	c := api.newOrg(t, "A")
	r := api.do(t, request{method: "POST", path: "/api/v1/assistants", header: c.headers(), body: `{"name":"A"}`})
	wantStatus(t, r, 201)
	r = api.do(t, request{method: "POST", path: "/api/v1/sessions", header: c.headers(),
		body: fmt.Sprintf(`{"assistant_id":%q}`, r.data(t)["id"])})
	wantStatus(t, r, 201)
	r = api.do(t, request{method: "POST", path: "/api/v1/sessions/" + r.data(t)["id"].(string) + "/messages",
		header: c.headers(), body: `{"content":"hello"}`})
	wantStatus(t, r, 201)
	if r.data(t)["reply"] == nil {
		t.Errorf("no reply across processes: %s", r.Body)
	}
}

// TestReplyPending answers 202 with the stored message when the reply takes
// longer than the wait bound, and the reply shows up in the history later.
func TestReplyPending(t *testing.T) {
	cfg := testConfig()
	cfg.ReplyWait = time.Nanosecond
	s := startServer(t, cfg, nil)
	c := s.newOrg(t, "A")
	r := s.do(t, request{method: "POST", path: "/api/v1/assistants", header: c.headers(), body: `{"name":"A"}`})
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions", header: c.headers(),
		body: fmt.Sprintf(`{"assistant_id":%q}`, r.data(t)["id"])})
	session := r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions/" + session + "/messages", header: c.headers(), body: `{"content":"hi"}`})
	switch r.Status {
	case http.StatusAccepted:
		if d := r.data(t); d["reply_status"] != "pending" || d["reply"] != nil || d["content"] != "hi" {
			t.Errorf("pending answer = %s", r.Body)
		}
	case http.StatusCreated: // the reply won the race: allowed, but it must be there
		if r.data(t)["reply"] == nil {
			t.Errorf("201 without reply: %s", r.Body)
		}
	default:
		t.Fatalf("status %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = s.do(t, request{method: "GET", path: "/api/v1/sessions/" + session + "/messages", header: c.headers()})
		if len(r.data(t)["items"].([]any)) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply never appeared: %s", r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDomainInvariantsOverHTTP: inactive assistants take no sessions and
// ended sessions take no messages; both are 409 and append nothing.
func TestDomainInvariantsOverHTTP(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "A")
	h := c.headers()
	r := s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"A","is_active":false}`})
	inactive := r.data(t)["id"].(string)
	n := s.eventCount(t)
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions", header: h, body: fmt.Sprintf(`{"assistant_id":%q}`, inactive)})
	if r.Status != http.StatusConflict {
		t.Errorf("session on inactive assistant: %d %s", r.Status, r.Body)
	}
	r = s.do(t, request{method: "PATCH", path: "/api/v1/assistants/" + inactive, header: h, body: `{"is_active":true}`})
	if r.Status != 200 || r.data(t)["is_active"] != true {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions", header: h, body: fmt.Sprintf(`{"assistant_id":%q}`, inactive)})
	wantStatus(t, r, 201)
	session := r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions/" + session + "/end", header: h})
	if r.Status != 200 || r.data(t)["status"] != "ended" {
		t.Fatalf("end: %d %s", r.Status, r.Body)
	}
	n = s.eventCount(t)
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions/" + session + "/messages", header: h, body: `{"content":"hi"}`})
	if r.Status != http.StatusConflict {
		t.Errorf("message to ended session: %d %s", r.Status, r.Body)
	}
	r = s.do(t, request{method: "DELETE", path: "/api/v1/assistants/" + inactive, header: h})
	wantStatus(t, r, 200)
	r = s.do(t, request{method: "GET", path: "/api/v1/assistants/" + inactive, header: h})
	wantStatus(t, r, 404)
	if got := s.eventCount(t); got != n+1 {
		t.Errorf("events grew by %d, want 1 (the delete)", got-n)
	}
}
