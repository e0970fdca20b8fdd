package extract

import (
	"bytes"
	"compress/zlib"
	"io"
	"testing"

	"github.com/companin/companin/adapters/extract/extracttest"
)

type (
	pdfFile  = extracttest.PDFFile
	docxFile = extracttest.DOCXFile
	zipEntry = extracttest.ZipEntry
)

var (
	zipOf         = extracttest.ZipOf
	para          = extracttest.Para
	deflateRepeat = extracttest.DeflateRepeat
	zlibRepeat    = extracttest.ZlibRepeat
)

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
