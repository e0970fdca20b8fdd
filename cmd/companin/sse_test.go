package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

type sseEvent struct {
	Name string
	Data map[string]any
}

// postStream sends a message asking for Server-Sent Events and collects
// the events until the stream ends.
func postStream(t *testing.T, s *testServer, c creds, path, content string) []sseEvent {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(fmt.Sprintf(`{"content":%q}`, content)))
	for k, v := range c.headers() {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream answer %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var out []sseEvent
	var name string
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var d map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d); err != nil {
				t.Fatalf("event %s data: %v", name, err)
			}
			out = append(out, sseEvent{name, d})
		}
	}
	return out
}

func TestStreamedReply(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprintf("worker in another process=%v", split), func(t *testing.T) {
			apiCfg := testConfig()
			if split {
				apiCfg.Workers = false
			}
			s := startServer(t, apiCfg, nil)
			if split {
				w := testConfig()
				w.API = false
				startServer(t, w, s.pool)
			}
			c := s.newOrg(t, "A")
			h := c.headers()
			r := s.do(t, request{method: "POST", path: "/api/v1/knowledge/qa", header: h,
				body: `{"question":"How long does shipping take?","answer":"Shipping takes 3 to 5 working days."}`})
			qa := r.data(t)["id"]
			r = s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"A"}`})
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
			if !strings.HasPrefix(got, "message,retrieval,delta") || !strings.HasSuffix(got, "reply,done") {
				t.Fatalf("events = %s", got)
			}
			if evs[0].Data["role"] != "user" || evs[1].Data["answerable"] != true {
				t.Errorf("message/retrieval = %v / %v", evs[0].Data, evs[1].Data)
			}
			src := evs[1].Data["sources"].([]any)
			if len(src) == 0 || src[0].(map[string]any)["knowledge_id"] != qa {
				t.Errorf("retrieval sources = %v", src)
			}
			final := evs[len(evs)-2].Data
			if final["content"] != streamed || streamed != "Shipping takes 3 to 5 working days." {
				t.Errorf("streamed %q, final %v", streamed, final["content"])
			}
			// History matches the stream: same reply, same sources.
			r = s.do(t, request{method: "GET", path: path, header: h})
			items := r.data(t)["items"].([]any)
			stored := items[len(items)-1].(map[string]any)
			if stored["id"] != final["id"] || fmt.Sprint(stored["sources"]) != fmt.Sprint(final["sources"]) {
				t.Errorf("stored reply %v differs from streamed %v", stored, final)
			}
		})
	}
}
