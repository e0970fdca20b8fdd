package extract

import (
	"context"
	"os"
	"testing"
	"fmt"
)

func TestTry(t *testing.T) {
	for _, f := range []string{"/tmp/t.pdf", "/tmp/trunc.pdf", "/tmp/notitle.pdf"} {
		data, _ := os.ReadFile(f)
		typ, err := Sniff(data, "", f)
		doc, err2 := Extract(context.Background(), PDF, data, Limits{})
		fmt.Printf("%s %v %v %q %v\n", typ, err, err2, doc.Title, doc.Sections)
	}
}
