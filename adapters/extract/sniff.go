package extract

import (
	"archive/zip"
	"bytes"
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	xunicode "golang.org/x/text/encoding/unicode"
)

// Sniff detects the type of data from its bytes. The declared type (a short
// name such as "pdf" or a media type such as "application/pdf") and the
// filename's extension are hints only: they choose between readings the
// bytes allow (plain text may be read as text, Markdown or CSV), and a hint
// the bytes contradict is an error with Kind ErrTypeMismatch. Bytes of no
// supported type are ErrUnsupported.
func Sniff(data []byte, declared string, filename string) (Type, error) {
	hint, err := hintOf(declared, filename)
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return "", fail(ErrUnsupported, "file is empty")
	}
	got, what := detect(data)
	mismatch := func() (Type, error) {
		return "", fail(ErrTypeMismatch, "file is declared as %s but its content is %s", hint.name(), what)
	}
	switch got {
	case PDF, DOCX:
		if hint != "" && hint != got {
			return mismatch()
		}
		return got, nil
	case HTML:
		switch hint {
		case "", HTML, Text:
			// text/plain is what clients send when they don't know; the
			// bytes say HTML, so read them as HTML.
			return HTML, nil
		case Markdown:
			// Markdown may open with HTML.
			return Markdown, nil
		}
		return mismatch()
	case Text:
		switch hint {
		case Text, Markdown, CSV, HTML:
			return hint, nil
		case "":
			if looksMarkdown(data) {
				return Markdown, nil
			}
			return Text, nil
		}
		return mismatch()
	}
	if hint != "" {
		return mismatch()
	}
	return "", fail(ErrUnsupported, "file type is not supported (content is %s)", what)
}

// hintOf reads the declared type, or else the filename's extension.
func hintOf(declared, filename string) (Type, error) {
	if d := strings.TrimSpace(declared); d != "" {
		if t, ok := typeByName(d); ok {
			return t, nil
		}
		return "", fail(ErrUnsupported, "file type %q is not supported", d)
	}
	if ext := path.Ext(strings.ReplaceAll(filename, `\`, "/")); ext != "" {
		if t, ok := typeByName(ext); ok {
			return t, nil
		}
	}
	// An unknown extension says nothing: the bytes decide.
	return "", nil
}

func typeByName(s string) (Type, bool) {
	s = strings.ToLower(strings.TrimPrefix(s, "."))
	if strings.Contains(s, "/") {
		if mt, _, err := mime.ParseMediaType(s); err == nil {
			s = mt
		}
	}
	switch s {
	case "pdf", "application/pdf", "application/x-pdf":
		return PDF, true
	case "txt", "text", "text/plain":
		return Text, true
	case "md", "markdown", "text/markdown", "text/x-markdown":
		return Markdown, true
	case "html", "htm", "xhtml", "text/html", "application/xhtml+xml":
		return HTML, true
	case "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return DOCX, true
	case "csv", "text/csv", "application/csv":
		return CSV, true
	}
	return "", false
}

// detect names the type of data, or returns "" and what it is instead.
func detect(data []byte) (Type, string) {
	if bytes.HasPrefix(data, []byte("%PDF-")) {
		return PDF, "PDF"
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return detectZip(data)
	}
	if text, ok := decodeText(data); ok {
		// The WHATWG sniffing rules, as the standard library implements them.
		head := text[:min(len(text), 512)]
		if strings.HasPrefix(http.DetectContentType([]byte(head)), "text/html") {
			return HTML, "HTML"
		}
		return Text, "text"
	}
	// A PDF may carry a few bytes of junk before its header (readers accept
	// up to 1 KiB); text with "%PDF-" in it was taken as text above.
	if bytes.Contains(data[:min(len(data), 1024)], []byte("%PDF-")) {
		return PDF, "PDF"
	}
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	if mt == "" || mt == "application/octet-stream" {
		return "", "binary data"
	}
	return "", mt
}

// detectZip tells a Word document from other zip archives by its entries.
// Only the central directory is read here.
func detectZip(data []byte) (Type, string) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", "a damaged zip archive"
	}
	var isOffice bool
	for _, f := range zr.File {
		switch {
		case f.Name == "word/document.xml":
			return DOCX, "DOCX"
		case f.Name == "[Content_Types].xml":
			isOffice = true
		}
	}
	if isOffice {
		return "", "an Office document other than DOCX"
	}
	return "", "a zip archive"
}

// looksMarkdown: an ATX heading, a fenced code block or a link reference
// in the first lines. Plain text reads fine either way; this only lets
// headings become sections when no type was declared.
func looksMarkdown(data []byte) bool {
	head := data[:min(len(data), 8192)]
	for _, line := range bytes.Split(head, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(line) > 1 && line[0] == '#' {
			n := len(line) - len(bytes.TrimLeft(line, "#"))
			if n <= 6 && n < len(line) && line[n] == ' ' {
				return true
			}
		}
		if bytes.HasPrefix(line, []byte("```")) {
			return true
		}
	}
	return false
}

// decodeText returns data as UTF-8 text, or false for binary data.
//
// Decision: text that is not valid UTF-8 is read as Windows-1252 (the
// superset of Latin-1 that older Windows editors and Excel write, common
// for Dutch and English files) rather than rejected; UTF-16 is decoded when
// it starts with a byte order mark. Data with NUL bytes, with bytes that
// Windows-1252 leaves undefined, or with more than 1% control characters is
// binary.
func decodeText(data []byte) (string, bool) {
	var s string
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		s = string(data[3:])
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		out, err := xunicode.UTF16(xunicode.BigEndian, xunicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			return "", false
		}
		s = string(out)
	case utf8.Valid(data):
		s = string(data)
	default:
		for _, c := range data {
			switch c {
			case 0x81, 0x8D, 0x8F, 0x90, 0x9D:
				return "", false
			}
		}
		out, err := charmap.Windows1252.NewDecoder().Bytes(data)
		if err != nil {
			return "", false
		}
		s = string(out)
	}
	var control, total int
	for _, r := range s {
		total++
		switch {
		case r == 0:
			return "", false
		case r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v':
		case unicode.IsControl(r):
			control++
		}
	}
	return s, control*100 <= total
}
