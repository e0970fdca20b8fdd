package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/companin/companin/adapters/ollama/ollamatest"
)

// TestOllamaReplyStreamed answers through a real Ollama server (a tiny
// generated model: its words are noise, the plumbing is what is tested),
// streamed over SSE from the worker to the client.
func TestOllamaReplyStreamed(t *testing.T) {
	srv := ollamatest.Start(t)
	cfg := testConfig()
	cfg.OllamaHost, cfg.ChatModel, cfg.OllamaNumCtx, cfg.OllamaPredict = srv.Host, srv.ChatModel, 512, 24
	s := startServer(t, cfg, nil)
	c := s.newOrg(t, "A")
	h := c.headers()
	r := s.do(t, request{method: "POST", path: "/api/v1/knowledge/qa", header: h,
		body: `{"question":"How long does shipping take?","answer":"Shipping takes 3 to 5 working days."}`})
	qa := r.data(t)["id"]
	r = s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"A","language":"en"}`})
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions", header: h, body: fmt.Sprintf(`{"assistant_id":%q}`, r.data(t)["id"])})
	path := "/api/v1/sessions/" + r.data(t)["id"].(string) + "/messages"

	evs := postStream(t, s, c, path, "how long does shipping take?")
	var names []string
	var streamed string
	for _, e := range evs {
		names = append(names, e.Name)
		if e.Name == "delta" {
			streamed += e.Data["content"].(string)
		}
	}
	got := strings.Join(names, ",")
	if !strings.HasPrefix(got, "message,retrieval,delta") || !strings.HasSuffix(got, "reply,done") || strings.Count(got, "delta") < 2 {
		t.Fatalf("events = %s", got)
	}
	final := evs[len(evs)-2].Data
	if final["responder"] != "ollama" || final["model"] != srv.ChatModel || final["content"] != streamed || streamed == "" {
		t.Errorf("final reply %v, streamed %q", final, streamed)
	}
	src := final["sources"].([]any)
	if len(src) == 0 || src[0].(map[string]any)["knowledge_id"] != qa {
		t.Errorf("sources = %v", src)
	}
	// Nothing relevant: the model is not asked; the honest answer comes.
	r = s.do(t, request{method: "POST", path: path, header: h, body: `{"content":"can I bring my parrot to the cinema"}`})
	reply := r.data(t)["reply"].(map[string]any)
	if reply["responder"] != "extractive" || reply["answerable"] != false {
		t.Errorf("unanswerable question: %v", reply)
	}
}

// TestOllamaDownFallsBack answers with the extractive responder when the
// model server cannot be reached, and says so on the reply.
func TestOllamaDownFallsBack(t *testing.T) {
	cfg := testConfig()
	cfg.OllamaHost, cfg.ChatModel, cfg.OllamaNumCtx, cfg.OllamaPredict = "http://127.0.0.1:1", "nope", 512, 16
	s := startServer(t, cfg, nil)
	c := s.newOrg(t, "A")
	h := c.headers()
	s.do(t, request{method: "POST", path: "/api/v1/knowledge/qa", header: h,
		body: `{"question":"How long does shipping take?","answer":"Shipping takes 3 to 5 working days."}`})
	r := s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"A"}`})
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions", header: h, body: fmt.Sprintf(`{"assistant_id":%q}`, r.data(t)["id"])})
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions/" + r.data(t)["id"].(string) + "/messages", header: h,
		body: `{"content":"how long does shipping take"}`})
	wantStatus(t, r, 201)
	reply := r.data(t)["reply"].(map[string]any)
	if reply["responder"] != "extractive" || reply["content"] != "Shipping takes 3 to 5 working days." {
		t.Errorf("reply with the model down: %v", reply)
	}
}
