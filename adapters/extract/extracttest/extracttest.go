// Package extracttest writes small documents of every supported type for
// tests: valid ones and hostile ones (bombs, truncations).
package extracttest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"strings"
)

// PDFFile writes a minimal valid PDF: one page per entry in pages, each
// line of a page shown with the standard Helvetica font, and an Info
// dictionary with title when it's not empty. stream, when set, replaces
// the first page's content stream (already encoded) and filter names its
// /Filter.
type PDFFile struct {
	Title  string
	Pages  [][]string
	Stream []byte
	Filter string
}

// Bytes renders the file.
func (p PDFFile) Bytes() []byte {
	var objs []string // object bodies, numbered from 1
	add := func(body string) int {
		objs = append(objs, body)
		return len(objs)
	}
	catalog := add("") // filled in below
	pagesObj := add("")
	font := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	var kids []string
	for i, lines := range p.Pages {
		var content []byte
		filter := ""
		if i == 0 && p.Stream != nil {
			content = p.Stream
			if p.Filter != "" {
				filter = " /Filter /" + p.Filter
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
	if p.Title != "" {
		info = add(fmt.Sprintf("<< /Title (%s) >>", p.Title))
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

// DeflateRepeat returns a raw deflate stream that inflates to prefix, n
// copies of chunk, then suffix, built without compressing n copies: each
// part is deflated on its own and flushed to a byte boundary, so the blocks
// of chunk, which refer only to themselves, can simply be repeated.
func DeflateRepeat(prefix, chunk []byte, n int, suffix []byte) []byte {
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

// ZlibRepeat is DeflateRepeat in the zlib wrapper that /FlateDecode wants.
func ZlibRepeat(prefix, chunk []byte, n int, suffix []byte) []byte {
	sum := adler32.Checksum(prefix)
	one := adler32.Checksum(chunk)
	for range n {
		sum = adler32Combine(sum, one, len(chunk))
	}
	sum = adler32Combine(sum, adler32.Checksum(suffix), len(suffix))
	out := append([]byte{0x78, 0xDA}, DeflateRepeat(prefix, chunk, n, suffix)...)
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

// DOCXFile writes a minimal DOCX. body is the inside of <w:body>; styles,
// when set, the inside of <w:styles>; title goes to docProps/core.xml.
type DOCXFile struct {
	Title  string
	Styles string
	Body   string
}

// WordNS declares the WordprocessingML namespace.
const WordNS = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`

// Bytes renders the file.
func (d DOCXFile) Bytes() []byte {
	entries := []ZipEntry{
		{Name: "[Content_Types].xml", Data: []byte(`<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`)},
		{Name: "word/document.xml", Data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document ` + WordNS + `><w:body>` + d.Body + `</w:body></w:document>`)},
	}
	if d.Styles != "" {
		entries = append(entries, ZipEntry{Name: "word/styles.xml", Data: []byte(`<?xml version="1.0" encoding="UTF-8"?><w:styles ` + WordNS + `>` + d.Styles + `</w:styles>`)})
	}
	if d.Title != "" {
		entries = append(entries, ZipEntry{Name: "docProps/core.xml", Data: []byte(`<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>` + d.Title + `</dc:title></cp:coreProperties>`)})
	}
	return ZipOf(entries...)
}

// para is a DOCX paragraph with an optional style id.
func Para(style, text string) string {
	ppr := ""
	if style != "" {
		ppr = `<w:pPr><w:pStyle w:val="` + style + `"/></w:pPr>`
	}
	return `<w:p>` + ppr + `<w:r><w:t xml:space="preserve">` + text + `</w:t></w:r></w:p>`
}

// ZipEntry is a file for ZipOf; with raw set, data is already deflated and
// size is the uncompressed size the header declares (true or not).
type ZipEntry struct {
	Name string
	Data []byte
	Raw  bool
	Size uint64
}

func ZipOf(entries ...ZipEntry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		if e.Raw {
			w, _ := zw.CreateRaw(&zip.FileHeader{
				Name: e.Name, Method: zip.Deflate,
				CompressedSize64: uint64(len(e.Data)), UncompressedSize64: e.Size,
			})
			w.Write(e.Data)
			continue
		}
		method := zip.Deflate
		if len(e.Data) == 0 {
			method = zip.Store // a deflater costs a megabyte of tables
		}
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: e.Name, Method: method})
		w.Write(e.Data)
	}
	zw.Close()
	return buf.Bytes()
}
