package main

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/companin/companin/adapters/extract/extracttest"
)

// upload posts a multipart knowledge file like the reference's curl -F.
func (s *testServer) upload(t *testing.T, c creds, title, fileType, filename string, data []byte) response {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("title", title)
	if fileType != "" {
		w.WriteField("file_type", fileType)
	}
	fw, _ := w.CreateFormFile("file", filename)
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/knowledge/files/", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	for k, v := range c.headers() {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := response{Status: res.StatusCode, Header: res.Header}
	out.Body, _ = io.ReadAll(res.Body)
	mustJSON(t, out.Body, &out.Env)
	validate(t, req, out)
	return out
}

// waitIndexed polls an item until it leaves pending.
func (s *testServer) waitIndexed(t *testing.T, c creds, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := s.do(t, request{method: "GET", path: "/api/v1/knowledge/" + id, header: c.headers()})
		wantStatus(t, r, 200)
		d := r.data(t)
		if d["status"] != "pending" {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("item %s still pending", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKnowledgeFromEverySource uploads each file type, adds a web page
// served by a local server and a Q&A pair; each is indexed and a question
// about it is answered citing it; a deleted item is never cited again.
func TestKnowledgeFromEverySource(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><head><title>Loyalty programme</title></head><body>
			<nav>Home | Shop | Contact</nav><article><h1>Loyalty programme</h1>
			<p>Every purchase earns loyalty points. One hundred loyalty points give a ten euro voucher.</p>
			<p>Points expire after two years without purchases.</p></article><footer>© Shop</footer></body></html>`)
	}))
	defer page.Close()
	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "A")
	h := c.headers()

	docx := extracttest.DOCXFile{Body: extracttest.Para("Heading1", "Warranty") +
		extracttest.Para("", "All bicycles carry a five year warranty on the frame.")}.Bytes()
	pdf := extracttest.PDFFile{Title: "Manual", Pages: [][]string{{"Charging the battery", "Charge the scooter battery for six hours before first use."}}}.Bytes()
	sources := []struct {
		name, fileType, filename string
		data                     []byte
		question, answer         string
	}{
		{"pdf", "pdf", "manual.pdf", pdf, "how long should I charge the scooter battery before first use", "six hours"},
		{"txt", "txt", "gift.txt", []byte("Gift cards\n\nGift cards can be redeemed online and in every store for three years."), "where can gift cards be redeemed", "three years"},
		{"md", "md", "pets.md", []byte("# Pets\n\nDogs on a leash are welcome in all our garden centres."), "are dogs welcome in the garden centres", "leash"},
		{"html", "html", "parking.html", []byte("<html><head><title>Parking</title></head><body><h1>Parking</h1><p>Customers park free for two hours in the basement garage.</p></body></html>"), "how long can customers park free in the garage", "two hours"},
		{"docx", "docx", "warranty.docx", docx, "what warranty do bicycles have on the frame", "five year"},
		{"csv", "csv", "stores.csv", []byte("store,city,opening\nNorth,Utrecht,Sunday opening from noon\n"), "which store in Utrecht opens on Sunday", "noon"},
	}
	ids := map[string]string{}
	for _, src := range sources {
		r := s.upload(t, c, "Doc "+src.name, src.fileType, src.filename, src.data)
		wantStatus(t, r, 201)
		if d := r.data(t); d["status"] != "pending" || d["kind"] != "file" {
			t.Errorf("%s: upload answered %v", src.name, d)
		}
		ids[src.name] = r.data(t)["id"].(string)
	}
	r := s.do(t, request{method: "POST", path: "/api/v1/knowledge/urls/", header: h,
		body: fmt.Sprintf(`{"url": %q}`, page.URL+"/loyalty")})
	wantStatus(t, r, 201)
	ids["url"] = r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/knowledge/qa/", header: h,
		body: `{"question": "Do you deliver on Saturdays?", "answer": "Yes, we deliver on Saturdays between 9 and 13."}`})
	ids["qa"] = r.data(t)["id"].(string)

	for name, id := range ids {
		if d := s.waitIndexed(t, c, id); d["status"] != "indexed" {
			t.Errorf("%s: %v", name, d)
		}
	}
	if d := s.waitIndexed(t, c, ids["url"]); d["title"] != "Loyalty programme" {
		t.Errorf("url title = %v, want the page's", d["title"])
	}

	r = s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"A"}`})
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions", header: h, body: fmt.Sprintf(`{"assistant_id":%q}`, r.data(t)["id"])})
	msgs := "/api/v1/sessions/" + r.data(t)["id"].(string) + "/messages"
	ask := func(q string) map[string]any {
		r := s.do(t, request{method: "POST", path: msgs, header: h, body: fmt.Sprintf(`{"content":%q}`, q)})
		wantStatus(t, r, 201)
		return r.data(t)["reply"].(map[string]any)
	}
	cites := func(reply map[string]any, id string) bool {
		for _, s := range reply["sources"].([]any) {
			if s.(map[string]any)["knowledge_id"] == id {
				return true
			}
		}
		return false
	}
	questions := append(sources, struct {
		name, fileType, filename string
		data                     []byte
		question, answer         string
	}{name: "url", question: "how many loyalty points give a voucher", answer: "One hundred loyalty points"},
		struct {
			name, fileType, filename string
			data                     []byte
			question, answer         string
		}{name: "qa", question: "do you deliver on saturdays", answer: "between 9 and 13"})
	for _, q := range questions {
		reply := ask(q.question)
		if !cites(reply, ids[q.name]) || !strings.Contains(reply["content"].(string), q.answer) {
			t.Errorf("%s: %q answered %q citing %v", q.name, q.question, reply["content"], reply["sources"])
		}
	}

	// Deleted: gone from retrieval at once, never cited again.
	r = s.do(t, request{method: "DELETE", path: "/api/v1/knowledge/" + ids["txt"], header: h})
	wantStatus(t, r, 200)
	if reply := ask("where can gift cards be redeemed"); cites(reply, ids["txt"]) {
		t.Errorf("deleted item cited: %v", reply)
	}
	r = s.do(t, request{method: "GET", path: "/api/v1/knowledge/search?q=gift+cards+redeemed", header: h})
	for _, it := range r.data(t)["items"].([]any) {
		if it.(map[string]any)["knowledge_id"] == ids["txt"] {
			t.Errorf("deleted item still searchable")
		}
	}
}

func TestUploadRefusals(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "A")
	before := s.eventCount(t)
	pdf := extracttest.PDFFile{Pages: [][]string{{"hello"}}}.Bytes()
	for _, tc := range []struct {
		name, fileType, filename string
		data                     []byte
		want                     int
	}{
		{"pdf declared as docx", "docx", "x.docx", pdf, 415},
		{"html declared as pdf", "pdf", "x.pdf", []byte("<html><body>hi</body></html>"), 415},
		{"binary declared as text", "txt", "x.txt", []byte{0, 1, 2, 3, 0xff, 0xfe, 0, 0}, 415},
		{"too large", "txt", "big.txt", bytes.Repeat([]byte("a"), 3<<20), 413},
	} {
		r := s.upload(t, c, "x", tc.fileType, tc.filename, tc.data)
		if r.Status != tc.want || r.Env.Status != "error" {
			t.Errorf("%s: %d %s, want %d", tc.name, r.Status, r.Body, tc.want)
		}
	}
	if n := s.eventCount(t); n != before {
		t.Errorf("refused uploads appended %d events", n-before)
	}
	// A hostile file fails its item with a reason; the server keeps serving.
	r := s.upload(t, c, "broken", "pdf", "broken.pdf", pdf[:len(pdf)/2])
	wantStatus(t, r, 201)
	d := s.waitIndexed(t, c, r.data(t)["id"].(string))
	if d["status"] != "failed" || d["status_reason"] == "" {
		t.Errorf("truncated pdf: %v", d)
	}
	// A URL to a blocked address fails with a reason, never fetched.
	r = s.do(t, request{method: "POST", path: "/api/v1/knowledge/urls", header: c.headers(), body: `{"url":"http://169.254.169.254/latest/meta-data/"}`})
	wantStatus(t, r, 201)
	d = s.waitIndexed(t, c, r.data(t)["id"].(string))
	if d["status"] != "failed" || !strings.Contains(fmt.Sprint(d["status_reason"]), "refused") {
		t.Errorf("metadata URL: %v", d)
	}
	wantStatus(t, s.do(t, request{method: "GET", path: "/healthz"}), 200)
}
