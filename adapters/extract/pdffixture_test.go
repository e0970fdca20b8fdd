package extract

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/adler32"
	"compress/zlib"
	"fmt"
	"strings"
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

// zlibRepeat returns a zlib stream that inflates to prefix, n copies of
// chunk, then suffix, built without compressing n copies: each part is
// deflated on its own and flushed to a byte boundary, so the copies of
// chunk's blocks, which refer only to themselves, can simply be repeated.
func zlibRepeat(prefix, chunk []byte, n int, suffix []byte) []byte {
	part := func(p []byte) []byte {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write(p)
		w.Flush()
		return buf.Bytes()
	}
	sum := adler32.New()
	var out bytes.Buffer
	out.Write([]byte{0x78, 0xDA})
	out.Write(part(prefix))
	sum.Write(prefix)
	block := part(chunk)
	for range n {
		out.Write(block)
		sum.Write(chunk)
	}
	out.Write(part(suffix))
	sum.Write(suffix)
	out.Write([]byte{0x03, 0x00}) // an empty final block
	return binary.BigEndian.AppendUint32(out.Bytes(), sum.Sum32())
}

// deflated compresses the output of write with zlib, as /FlateDecode wants.
func deflated(write func(w *zlib.Writer)) []byte {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	write(w)
	w.Close()
	return buf.Bytes()
}
