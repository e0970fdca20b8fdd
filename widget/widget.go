// Package widget is the embeddable chat widget: its script (widget.js,
// plain modern JavaScript that needs no build step, so the file here is the
// file served) and the demo page, embedded in the binary.
package widget

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"html/template"
	"io"
	"sync"
)

//go:embed widget.js
var script []byte

//go:embed demo.html
var demoHTML string

// Script returns widget.js.
func Script() []byte { return script }

// Version identifies this build of the script: the start of its SHA-256,
// so the versioned URL changes exactly when the script does.
var Version = func() string {
	sum := sha256.Sum256(script)
	return hex.EncodeToString(sum[:6])
}()

// Gzipped returns the script compressed once, for clients that accept gzip.
var Gzipped = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(script)
	zw.Close()
	return buf.Bytes()
})

// Demo is what the demo page shows: the tag for a client, assistant and
// config, or a form asking for them.
type Demo struct {
	Base        string // where the API and the script are served
	ClientID    string
	AssistantID string
	ConfigID    string
	Version     string
}

var demoPage = template.Must(template.New("demo").Parse(demoHTML))

// RenderDemo writes the demo page; html/template escapes every value.
func RenderDemo(w io.Writer, d Demo) error {
	d.Version = Version
	return demoPage.Execute(w, d)
}
