package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/companin/companin/adapters/extract/extracttest"
)

// Hostile files fail (or are cut) with a reason, within the caps, and this
// process allocates only a bounded amount while handling them.
func TestHostileFiles(t *testing.T) {
	lim := Limits{MaxInput: 32 << 20, MaxOutput: 1_000_000, Timeout: 10 * time.Second, MaxMemory: 256 << 20}

	valid := pdfFile{Title: "T", Pages: [][]string{{"Some text on a page."}}}.Bytes()
	// A content stream that inflates to a 512 MiB string shown on the page.
	pdfBomb := pdfFile{Pages: [][]string{nil}, Filter: "FlateDecode",
		Stream: zlibRepeat([]byte("BT /F1 12 Tf 72 720 Td ("), bytes.Repeat([]byte("A"), 1<<20), 512, []byte(") Tj ET"))}.Bytes()

	// word/document.xml inflating to n MiB of text in one paragraph.
	docBomb := func(n int) []byte {
		return deflateRepeat([]byte(`<w:document `+extracttest.WordNS+`><w:body><w:p><w:r><w:t>`), bytes.Repeat([]byte("A"), 1<<20), n, []byte(`</w:t></w:r></w:p></w:body></w:document>`))
	}
	contentTypes := zipEntry{Name: "[Content_Types].xml", Data: []byte("<Types/>")}
	honestBomb := zipOf(contentTypes, zipEntry{Name: "word/document.xml", Data: docBomb(1024), Raw: true, Size: 1 << 30})
	// 250 MiB is within the 256 MiB budget, but no document compresses 1000:1.
	ratioBomb := zipOf(contentTypes, zipEntry{Name: "word/document.xml", Data: docBomb(250), Raw: true, Size: 250 << 20})
	// Declares 10 KiB: archive/zip stops reading at 10 KiB.
	lyingBomb := zipOf(contentTypes, zipEntry{Name: "word/document.xml", Data: docBomb(1024), Raw: true, Size: 10 << 10})
	// Parts that each pass but add up to more than a 2 MiB budget.
	spaces := bytes.Repeat([]byte(" "), 900<<10)
	var many []zipEntry
	many = append(many, zipEntry{Name: "word/document.xml", Data: []byte("<w:document/>")})
	for i := range 20_000 {
		many = append(many, zipEntry{Name: fmt.Sprintf("media/%d", i)})
	}

	deepHTML := strings.Repeat("<div><b><a>", 300_000) + "deep text" + strings.Repeat("</a></b></div>", 300_000)
	wideCSV := strings.Repeat("c,", 1_000_000) + "c\n"
	deepXML := docxFile{Body: `<w:p><w:r><w:t>deep</w:t></w:r></w:p>` + strings.Repeat("<w:x>", 80_000) + strings.Repeat("</w:x>", 80_000)}.Bytes()
	var deepMarkdown strings.Builder
	deepMarkdown.WriteString(strings.Repeat("> ", 100_000) + "quoted\n" + strings.Repeat("- ", 50_000) + "item\n")
	for i := range 2000 {
		deepMarkdown.WriteString(strings.Repeat("  ", i) + "- nested\n")
	}

	tests := []struct {
		name string
		typ  Type
		data []byte
		lim  *Limits // instead of lim
		want []error // any of these; nil: succeeds
		text string  // expected in the text on success
	}{
		{name: "truncated pdf", typ: PDF, data: valid[:len(valid)/2], want: []error{ErrDamaged}},
		{name: "pdf cut before its end", typ: PDF, data: valid[:len(valid)-40], want: []error{ErrDamaged}},
		{name: "pdf header only", typ: PDF, data: []byte("%PDF-1.7\n"), want: []error{ErrDamaged}},
		{name: "pdf decompression bomb", typ: PDF, data: pdfBomb, want: []error{ErrMemoryLimit, ErrTimeout, ErrOutputLimit}},
		{name: "zip bomb docx", typ: DOCX, data: honestBomb, want: []error{ErrMemoryLimit}},
		{name: "zip bomb docx, ratio", typ: DOCX, data: ratioBomb, want: []error{ErrMemoryLimit}},
		{name: "zip bomb docx, lying header", typ: DOCX, data: lyingBomb, want: []error{ErrDamaged}},
		{name: "docx parts over budget", typ: DOCX, lim: &Limits{MaxMemory: 2 << 20}, data: zipOf(
			zipEntry{Name: "docProps/core.xml", Data: spaces},
			zipEntry{Name: "word/styles.xml", Data: spaces},
			zipEntry{Name: "word/document.xml", Data: spaces},
		), want: []error{ErrMemoryLimit}},
		{name: "docx with 20000 parts", typ: DOCX, data: zipOf(many...), want: []error{ErrDamaged}},
		{name: "deeply nested docx xml", typ: DOCX, data: deepXML, text: "deep"},
		{name: "deeply nested html", typ: HTML, data: []byte(deepHTML), text: "deep text"},
		{name: "csv with a million columns", typ: CSV, data: []byte(wideCSV), want: []error{ErrOutputLimit}},
		{name: "deeply nested markdown", typ: Markdown, data: []byte(deepMarkdown.String()), text: "quoted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()

			l := lim
			if tt.lim != nil {
				l = *tt.lim
			}
			doc, err := Extract(context.Background(), tt.typ, tt.data, l)

			elapsed := time.Since(start)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc

			if elapsed > lim.Timeout+2*time.Second {
				t.Errorf("took %s, over the %s timeout", elapsed, lim.Timeout)
			}
			// Generous: parsers allocate garbage as they go, but never the
			// 512 MiB or 1 GiB the bombs inflate to.
			if limit := uint64(128<<20 + 16*len(tt.data)); allocated > limit {
				t.Errorf("allocated %d MiB, want under %d MiB", allocated>>20, limit>>20)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				if !strings.Contains(fmt.Sprint(doc.Sections), tt.text) {
					t.Errorf("text %q not in %v", tt.text, doc.Sections)
				}
				return
			}
			ok := false
			for _, w := range tt.want {
				ok = ok || errors.Is(err, w)
			}
			if !ok {
				t.Fatalf("err = %v, want one of %v", err, tt.want)
			}
			var e *Error
			if err != nil && (!errors.As(err, &e) || e.Reason == "") {
				t.Errorf("err = %#v, want an *Error with a reason", err)
			}
			t.Logf("%s in %s, %d MiB allocated", err, elapsed.Round(time.Millisecond), allocated>>20)
		})
	}
}
