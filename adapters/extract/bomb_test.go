package extract

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
)

func TestBomb(t *testing.T) {
	start := time.Now()
	chunk := bytes.Repeat([]byte("A"), 1<<20)
	stream := zlibRepeat([]byte("BT /F1 12 Tf 72 720 Td ("), chunk, 256, []byte(") Tj ET"))
	var out bytes.Buffer
	r, err := zlib.NewReader(bytes.NewReader(stream))
	n, err := io.Copy(&out, r)
	fmt.Println("check", n, err, time.Since(start))
	data := pdfFile{pages: [][]string{nil}, stream: stream, filter: "FlateDecode"}.bytes()
	fmt.Println("built", len(data), time.Since(start))
	os.WriteFile("/tmp/bomb.pdf", data, 0o644)
	start = time.Now()
	doc, err := Extract(context.Background(), PDF, data, Limits{MaxMemory: 256 << 20, Timeout: 10 * time.Second, MaxOutput: 100000})
	fmt.Println(len(doc.Sections), err, time.Since(start))
}
