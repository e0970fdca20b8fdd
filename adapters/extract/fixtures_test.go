package extract

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"io"
	"strings"
	"testing"
)

// pdfFile writes a minimal valid PDF: one page per entry in pages, each
// line of a page shown with the standard Helvetica font, and an Info
// dictionary with title when it's not empty. stream, when set, replaces
// the first page's content stream (already encoded) and filter names its
// /Filter.
type pdfFile struct {
	title  string
	pages  [][]string
	stream []byte
	filter string
}

func (p pdfFile) bytes() []byte {
	var objs []string // object bodies, numbered from 1
	add := func(body string) int {
		objs = append(objs, body)
		return len(objs)
	}
	catalog := add("") // filled in below
	pagesObj := add("")
	font := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	var kids []string
	for i, lines := range p.pages {
		var content []byte
		filter := ""
		if i == 0 && p.stream != nil {
			content = p.stream
			if p.filter != "" {
				filter = " /Filter /" + p.filter
			}
		} else {
			var sb strings.Builder
			sb.WriteString("BT /F1 12 Tf 72 720 Td 14 TL\n")
			for _, l := range lines {
				l = strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l)
				fmt.Fprintf(&sb, "(%s) Tj T*\n", l)
			}
			sb.WriteString("ET\n")
			content = []byte(sb.String())
		}
		c := add(fmt.Sprintf("<< /Length %d%s >>\nstream\n%s\nendstream", len(content), filter, content))
		pg := add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>", pagesObj, font, c))
		kids = append(kids, fmt.Sprintf("%d 0 R", pg))
	}
	objs[catalog-1] = fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj)
	objs[pagesObj-1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	info := 0
	if p.title != "" {
		info = add(fmt.Sprintf("<< /Title (%s) >>", p.title))
	}

	var out bytes.Buffer
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, body := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	trailer := fmt.Sprintf("/Size %d /Root %d 0 R", len(objs)+1, catalog)
	if info != 0 {
		trailer += fmt.Sprintf(" /Info %d 0 R", info)
	}
	fmt.Fprintf(&out, "trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n", trailer, xref)
	return out.Bytes()
}

// deflateRepeat returns a raw deflate stream that inflates to prefix, n
// copies of chunk, then suffix, built without compressing n copies: each
// part is deflated on its own and flushed to a byte boundary, so the blocks
// of chunk, which refer only to themselves, can simply be repeated.
func deflateRepeat(prefix, chunk []byte, n int, suffix []byte) []byte {
	part := func(p []byte) []byte {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write(p)
		w.Flush()
		return buf.Bytes()
	}
	var out bytes.Buffer
	out.Write(part(prefix))
	block := part(chunk)
	for range n {
		out.Write(block)
	}
	out.Write(part(suffix))
	out.Write([]byte{0x03, 0x00}) // an empty final block
	return out.Bytes()
}

// zlibRepeat is deflateRepeat in the zlib wrapper that /FlateDecode wants.
func zlibRepeat(prefix, chunk []byte, n int, suffix []byte) []byte {
	sum := adler32.Checksum(prefix)
	one := adler32.Checksum(chunk)
	for range n {
		sum = adler32Combine(sum, one, len(chunk))
	}
	sum = adler32Combine(sum, adler32.Checksum(suffix), len(suffix))
	out := append([]byte{0x78, 0xDA}, deflateRepeat(prefix, chunk, n, suffix)...)
	return binary.BigEndian.AppendUint32(out, sum)
}

// adler32Combine is zlib's adler32_combine: the checksum of a+b from the
// checksums of a and b and b's length, so n copies need no n passes.
func adler32Combine(a, b uint32, lenB int) uint32 {
	const base = 65521
	rem := uint32(lenB % base)
	sum1 := a & 0xffff
	sum2 := rem * sum1 % base
	sum1 += b&0xffff + base - 1
	sum2 += a>>16 + b>>16 + base - rem
	if sum1 >= base {
		sum1 -= base
	}
	if sum1 >= base {
		sum1 -= base
	}
	if sum2 >= base<<1 {
		sum2 -= base << 1
	}
	if sum2 >= base {
		sum2 -= base
	}
	return sum1 | sum2<<16
}

// docxFile writes a minimal DOCX. body is the inside of <w:body>; styles,
// when set, the inside of <w:styles>; title goes to docProps/core.xml.
type docxFile struct {
	title  string
	styles string
	body   string
}

const wordNS = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`

func (d docxFile) bytes() []byte {
	entries := []zipEntry{
		{name: "[Content_Types].xml", data: []byte(`<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`)},
		{name: "word/document.xml", data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document ` + wordNS + `><w:body>` + d.body + `</w:body></w:document>`)},
	}
	if d.styles != "" {
		entries = append(entries, zipEntry{name: "word/styles.xml", data: []byte(`<?xml version="1.0" encoding="UTF-8"?><w:styles ` + wordNS + `>` + d.styles + `</w:styles>`)})
	}
	if d.title != "" {
		entries = append(entries, zipEntry{name: "docProps/core.xml", data: []byte(`<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>` + d.title + `</dc:title></cp:coreProperties>`)})
	}
	return zipOf(entries...)
}

// para is a DOCX paragraph with an optional style id.
func para(style, text string) string {
	ppr := ""
	if style != "" {
		ppr = `<w:pPr><w:pStyle w:val="` + style + `"/></w:pPr>`
	}
	return `<w:p>` + ppr + `<w:r><w:t xml:space="preserve">` + text + `</w:t></w:r></w:p>`
}

// zipEntry is a file for zipOf; with raw set, data is already deflated and
// size is the uncompressed size the header declares (true or not).
type zipEntry struct {
	name string
	data []byte
	raw  bool
	size uint64
}

func zipOf(entries ...zipEntry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		if e.raw {
			w, _ := zw.CreateRaw(&zip.FileHeader{
				Name: e.name, Method: zip.Deflate,
				CompressedSize64: uint64(len(e.data)), UncompressedSize64: e.size,
			})
			w.Write(e.data)
			continue
		}
		method := zip.Deflate
		if len(e.data) == 0 {
			method = zip.Store // a deflater costs a megabyte of tables
		}
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: method})
		w.Write(e.data)
	}
	zw.Close()
	return buf.Bytes()
}

func TestZlibRepeat(t *testing.T) {
	data := zlibRepeat([]byte("head("), bytes.Repeat([]byte("xyz"), 1000), 77, []byte(")tail"))
	r, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	want := append(append([]byte("head("), bytes.Repeat([]byte("xyz"), 77000)...), ")tail"...)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("err = %v, equal = %v", err, bytes.Equal(got, want))
	}
}
