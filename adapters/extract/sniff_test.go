package extract

import (
	"errors"
	"testing"
)

func TestSniff(t *testing.T) {
	pdf := pdfFile{Pages: [][]string{{"x"}}}.Bytes()
	docx := docxFile{Body: para("", "x")}.Bytes()
	html := []byte("\n  <!DOCTYPE html><html><body><p>Hi</p></body></html>")
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01")
	binary := []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0}
	otherZip := zipOf(zipEntry{Name: "a.txt", Data: []byte("a")})
	xlsx := zipOf(zipEntry{Name: "[Content_Types].xml", Data: []byte("<Types/>")}, zipEntry{Name: "xl/workbook.xml", Data: []byte("<w/>")})
	utf16 := []byte{0xFF, 0xFE, 'h', 0, 'i', 0, '\n', 0}

	tests := []struct {
		name     string
		data     []byte
		declared string
		filename string
		want     Type
		wantErr  error
	}{
		{name: "pdf", data: pdf, filename: "a.pdf", want: PDF},
		{name: "pdf by media type", data: pdf, declared: "application/pdf", want: PDF},
		{name: "pdf with junk before the header", data: append([]byte("\x00\x01junk"), pdf...), want: PDF},
		{name: "docx", data: docx, declared: "docx", want: DOCX},
		{name: "html without a hint", data: html, want: HTML},
		{name: "html declared as text", data: html, declared: "text/plain", want: HTML},
		{name: "html in markdown", data: html, declared: "md", want: Markdown},
		{name: "text", data: []byte("hello\n"), want: Text},
		{name: "text declared csv", data: []byte("a,b\n1,2\n"), declared: "text/csv; charset=utf-8", want: CSV},
		{name: "text by extension", data: []byte("a,b\n1,2\n"), filename: `C:\data\export.CSV`, want: CSV},
		{name: "markdown sniffed", data: []byte("intro\n\n## Part\n"), want: Markdown},
		{name: "text declared html", data: []byte("plain words"), declared: "html", want: HTML},
		{name: "latin-1 text", data: []byte("caf\xe9\n"), declared: "txt", want: Text},
		{name: "utf-16 text", data: utf16, want: Text},
		{name: "unknown extension ignored", data: []byte("hello"), filename: "notes.weird", want: Text},

		{name: "pdf declared as docx", data: pdf, declared: "docx", wantErr: ErrTypeMismatch},
		{name: "pdf named .docx", data: pdf, filename: "cv.docx", wantErr: ErrTypeMismatch},
		{name: "html declared as pdf", data: html, declared: "pdf", wantErr: ErrTypeMismatch},
		{name: "html declared as csv", data: html, declared: "csv", wantErr: ErrTypeMismatch},
		{name: "binary declared as txt", data: binary, declared: "txt", wantErr: ErrTypeMismatch},
		{name: "png declared as md", data: png, declared: "md", wantErr: ErrTypeMismatch},
		{name: "docx declared as pdf", data: docx, declared: "pdf", wantErr: ErrTypeMismatch},
		{name: "text declared as docx", data: []byte("hello"), declared: "docx", wantErr: ErrTypeMismatch},
		{name: "zip declared as docx", data: otherZip, declared: "docx", wantErr: ErrTypeMismatch},

		{name: "binary", data: binary, wantErr: ErrUnsupported},
		{name: "png", data: png, filename: "a.png", wantErr: ErrUnsupported},
		{name: "xlsx", data: xlsx, wantErr: ErrUnsupported},
		{name: "unsupported declared type", data: []byte("hello"), declared: "application/msword", wantErr: ErrUnsupported},
		{name: "empty", data: []byte(" \n"), declared: "txt", wantErr: ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sniff(tt.data, tt.declared, tt.filename)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
