package extract

import (
	"os"
	"testing"
)

func TestGenPDF(t *testing.T) {
	p := pdfFile{title: "Handbook & Co", pages: [][]string{{"Opening hours", "We are open <daily> & from 9 to 5. </pre> x", "", "Returns are free."}, {"Page two text."}}}
	os.WriteFile("/tmp/t.pdf", p.bytes(), 0o644)
	b := p.bytes()
	os.WriteFile("/tmp/trunc.pdf", b[:len(b)/2], 0o644)
	os.WriteFile("/tmp/trunc2.pdf", b[:len(b)-300], 0o644)
	os.WriteFile("/tmp/notitle.pdf", pdfFile{pages: [][]string{{"x"}}}.bytes(), 0o644)
}
