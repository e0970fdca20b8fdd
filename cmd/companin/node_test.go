package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/companin/companin/adapters/extract/extracttest"
)

// TestReferenceJavaScriptExamples runs the reference's JavaScript under the
// machine's Node (20+), changing only the base URL and the credentials.
func TestReferenceJavaScriptExamples(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required: scripts/deps installs it")
	}
	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "Shop")
	r := s.do(t, request{method: "POST", path: "/api/v1/assistants", header: c.headers(),
		body: `{"name": "Winkelhulp", "language": "nl"}`})
	wantStatus(t, r, 201)
	assistantID := r.data(t)["id"].(string)

	pdfPath := filepath.Join(t.TempDir(), "manual.pdf")
	pdf := extracttest.PDFFile{Title: "User Manual", Pages: [][]string{{"Press the power button for three seconds."}}}.Bytes()
	if err := os.WriteFile(pdfPath, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/reference.mjs")
	if err != nil {
		t.Fatal(err)
	}
	js := strings.NewReplacer(
		"https://app.companin.tech", s.URL,
		"YOUR_CLIENT_ID", c.ClientID,
		"YOUR_CLIENT_SECRET", c.Secret,
		"ASSISTANT_UUID", assistantID,
		"PDF_PATH", pdfPath,
	).Replace(string(src))
	file := filepath.Join(t.TempDir(), "reference.mjs")
	if err := os.WriteFile(file, []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	outb, err := exec.CommandContext(ctx, node, file).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, outb)
	}
	var out map[string]struct {
		Status     string         `json:"status"`
		StatusCode int            `json:"status_code"`
		Data       map[string]any `json:"data"`
	}
	lines := strings.Split(strings.TrimSpace(string(outb)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		t.Fatalf("node output: %v\n%s", err, outb)
	}
	for _, k := range []string{"fileUpload", "webContent", "faq", "session", "result", "resetAnswer", "conversation", "product", "sessie"} {
		if out[k].Status != "success" {
			t.Errorf("%s: %+v", k, out[k])
		}
	}
	if out["fileUpload"].Data["kind"] != "file" || out["webContent"].Data["kind"] != "url" {
		t.Errorf("knowledge uploads: %+v %+v", out["fileUpload"], out["webContent"])
	}
	reply := out["resetAnswer"].Data["reply"].(map[string]any)
	if !strings.Contains(fmt.Sprint(reply["content"]), "Wachtwoord resetten") {
		t.Errorf("Dutch FAQ question answered with %v", reply["content"])
	}
	if out["result"].Data["reply"] == nil {
		t.Errorf("sendMessage result has no reply: %+v", out["result"])
	}
}
