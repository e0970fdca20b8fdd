package main

import (
	"fmt"
	"net/http"
	"testing"
)

// TestReferenceCurlExamples walks the API reference's curl examples in
// order, with only the base URL and the credentials changed.
func TestReferenceCurlExamples(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "Acme")
	h := c.headers()

	// Assistenten weergeven
	r := s.do(t, request{method: "GET", path: "/api/v1/assistants/", header: h})
	wantStatus(t, r, http.StatusOK)
	if r.Env.Status != "success" || r.Env.StatusCode != 200 {
		t.Errorf("envelope = %+v", r.Env)
	}

	// Assistent maken
	r = s.do(t, request{method: "POST", path: "/api/v1/assistants/", header: h, body: `{
		"name": "Customer Support Bot",
		"description": "Helpful assistant for customer inquiries",
		"tone": "professional",
		"language": "en",
		"default_tasks": ["answer_questions", "provide_support"],
		"is_active": true
	}`})
	wantStatus(t, r, http.StatusCreated)
	asst := r.data(t)
	assistantID := asst["id"].(string)
	if asst["name"] != "Customer Support Bot" || asst["is_active"] != true || asst["created_at"] == nil {
		t.Errorf("assistant = %v", asst)
	}
	// Visible to the next read at once.
	r = s.do(t, request{method: "GET", path: "/api/v1/assistants/", header: h})
	if items := r.data(t)["items"].([]any); len(items) != 1 {
		t.Errorf("list after create has %d items", len(items))
	}

	// Vraag-antwoord paar toevoegen
	r = s.do(t, request{method: "POST", path: "/api/v1/knowledge/qa/", header: h, body: `{
		"question": "What are your business hours?",
		"answer": "We are open Monday to Friday, 9 AM to 6 PM EST.",
		"tags": ["hours", "support"]
	}`})
	wantStatus(t, r, http.StatusCreated)
	qa := r.data(t)
	if qa["status"] != "indexed" || qa["kind"] != "qa" {
		t.Errorf("qa = %v", qa)
	}

	// Sessie maken
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions/", header: h, body: fmt.Sprintf(`{
		"assistant_id": %q,
		"visitor_id": "visitor-123",
		"locale": "en",
		"metadata": {"source": "website", "page": "/contact"}
	}`, assistantID)})
	wantStatus(t, r, http.StatusCreated)
	sessionID := r.data(t)["id"].(string)

	// Bericht verzenden in sessie: stored with its reply.
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions/" + sessionID + "/messages", header: h, body: `{
		"content": "Hello, I need help with my order",
		"metadata": {"user_type": "customer"}
	}`})
	wantStatus(t, r, http.StatusCreated)
	msg := r.data(t)
	if msg["role"] != "user" || msg["reply_status"] != "completed" {
		t.Fatalf("message = %v", msg)
	}
	reply := msg["reply"].(map[string]any)
	if reply["role"] != "assistant" || reply["answerable"] != false || reply["responder"] != "extractive" {
		t.Errorf("reply to an unknown topic = %v, want an honest I-don't-know", reply)
	}

	// A question the knowledge answers is answered from it, citing it.
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions/" + sessionID + "/messages", header: h,
		body: `{"content": "What are your business hours?"}`})
	wantStatus(t, r, http.StatusCreated)
	reply = r.data(t)["reply"].(map[string]any)
	if reply["content"] != "We are open Monday to Friday, 9 AM to 6 PM EST." || reply["answerable"] != true {
		t.Errorf("reply = %v", reply)
	}
	sources := reply["sources"].([]any)
	if len(sources) == 0 || sources[0].(map[string]any)["knowledge_id"] != qa["id"] {
		t.Errorf("sources = %v, want the Q&A item %v", sources, qa["id"])
	}

	// History: both user messages and both replies, in order.
	r = s.do(t, request{method: "GET", path: "/api/v1/sessions/" + sessionID + "/messages", header: h})
	wantStatus(t, r, http.StatusOK)
	items := r.data(t)["items"].([]any)
	var roles []string
	for _, it := range items {
		roles = append(roles, it.(map[string]any)["role"].(string))
	}
	if fmt.Sprint(roles) != "[user assistant user assistant]" {
		t.Errorf("history roles = %v", roles)
	}

	// Gebruikerscontext maken
	r = s.do(t, request{method: "POST", path: "/api/v1/contexts/", header: h, body: `{
		"user_reference": "user-456",
		"traits": {
			"name": "John Doe",
			"email": "john@example.com",
			"subscription_tier": "premium",
			"preferences": {"language": "en", "notifications": true}
		}
	}`})
	wantStatus(t, r, http.StatusCreated)

	// Conversatie maken, with the context's reference.
	r = s.do(t, request{method: "POST", path: "/api/v1/conversations/", header: h, body: fmt.Sprintf(`{
		"assistant_id": %q,
		"customer_id": "user-456",
		"user_context_id": "user-456",
		"title": "Order Support",
		"locale": "en"
	}`, assistantID)})
	wantStatus(t, r, http.StatusCreated)
	conv := r.data(t)
	if conv["user_context_id"] != "user-456" || conv["title"] != "Order Support" {
		t.Errorf("conversation = %v", conv)
	}

	// Bericht verzenden in conversatie
	r = s.do(t, request{method: "POST", path: "/api/v1/conversations/" + conv["id"].(string) + "/messages", header: h, body: `{
		"content": "Can you help me track my order?",
		"metadata": {"order_id": "12345"}
	}`})
	wantStatus(t, r, http.StatusCreated)
	if r.data(t)["reply"] == nil {
		t.Errorf("conversation message has no reply: %s", r.Body)
	}

	// Widget Token Verkrijgen, then the widget's own session example.
	r = s.do(t, request{method: "POST", path: "/api/v1/auth/widget-token",
		body: fmt.Sprintf(`{"client_id":%q}`, c.ClientID)})
	wantStatus(t, r, http.StatusOK)
	var tok struct {
		Token     string `json:"token"`
		ExpiresIn int    `json:"expires_in"`
		TokenType string `json:"token_type"`
	}
	mustJSON(t, r.Body, &tok)
	if tok.Token == "" || tok.ExpiresIn != 3600 || tok.TokenType != "Bearer" {
		t.Errorf("token answer = %s", r.Body)
	}
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions", header: bearer(tok.Token),
		body: fmt.Sprintf(`{"assistant_id": %q}`, assistantID)})
	wantStatus(t, r, http.StatusCreated)
}
