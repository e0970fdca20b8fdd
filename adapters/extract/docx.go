package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Zip-bomb defences. A DOCX is a zip archive; only three small XML parts
// are read, each streamed through a budget of decompressed bytes
// (Limits.MaxMemory in all). Archive/zip itself refuses an entry that
// inflates past the size its header declares, so checking declared sizes up
// front is sound, and the budget reader backs it up.
const (
	maxZipEntries = 10_000
	// maxZipRatio: document XML deflates about 5-20:1; bombs reach 1000:1.
	maxZipRatio = 200
	// Entries smaller than this are not held to the ratio.
	ratioFloor = 1 << 20
)

var errBudget = errors.New("decompression budget exceeded")

// extractDOCX reads word/document.xml with encoding/xml's streaming decoder
// (which expands no entities beyond XML's five, so no billion laughs).
// Paragraphs styled as headings (by name "heading N" in styles.xml, so
// localized styles like Dutch "Kop1" count, or by outline level) start
// sections. The title is docProps/core.xml's, else the Title-styled
// paragraph, else the first level-1 heading.
func extractDOCX(ctx context.Context, data []byte, lim Limits, b *builder) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fail(ErrDamaged, "DOCX is truncated or damaged")
	}
	if len(zr.File) > maxZipEntries {
		return fail(ErrDamaged, "DOCX has %d parts; at most %d are supported", len(zr.File), maxZipEntries)
	}
	d := &docx{ctx: ctx, zr: zr, budget: lim.MaxMemory, total: lim.MaxMemory}

	var coreTitle string
	if err := d.read("docProps/core.xml", func(dec *xml.Decoder) error {
		coreTitle, err = textOf(dec, "title")
		return err
	}); err != nil {
		return err
	}
	styles := map[string]int{}
	if err := d.read("word/styles.xml", func(dec *xml.Decoder) error { return docxStyles(dec, styles) }); err != nil {
		return err
	}
	var titleStyled, firstH1 string
	found := false
	err = d.read("word/document.xml", func(dec *xml.Decoder) error {
		found = true
		return docxBody(ctx, dec, styles, b, func(level int, text string) {
			switch {
			case level == 0 && titleStyled == "":
				titleStyled = text
			case level == 1 && firstH1 == "":
				firstH1 = text
			}
		})
	})
	if err != nil {
		return err
	}
	if !found {
		return fail(ErrDamaged, "DOCX has no document body")
	}
	b.setTitle(coreTitle)
	b.setTitle(titleStyled)
	b.setTitle(firstH1)
	return nil
}

type docx struct {
	ctx    context.Context
	zr     *zip.Reader
	budget int64 // bytes left to inflate, of total
	total  int64
}

// read streams one part through fn; a missing part is not an error.
func (d *docx) read(name string, fn func(*xml.Decoder) error) error {
	var f *zip.File
	for _, zf := range d.zr.File {
		if zf.Name == name {
			f = zf
			break
		}
	}
	if f == nil {
		return nil
	}
	bomb := fail(ErrMemoryLimit, "DOCX expands to more than %s (possible zip bomb)", size(d.total))
	if f.UncompressedSize64 > uint64(d.budget) {
		return bomb
	}
	if f.UncompressedSize64 > ratioFloor && f.UncompressedSize64 > maxZipRatio*f.CompressedSize64 {
		return fail(ErrMemoryLimit, "DOCX is compressed suspiciously well (%d:1, possible zip bomb)", f.UncompressedSize64/max(f.CompressedSize64, 1))
	}
	rc, err := f.Open()
	if err != nil {
		return fail(ErrDamaged, "DOCX is truncated or damaged")
	}
	defer rc.Close()
	dec := xml.NewDecoder(&budgetReader{r: rc, left: &d.budget})
	err = fn(dec)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errBudget):
		return bomb
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fail(ErrDamaged, "DOCX is truncated or damaged (%s)", name)
}

type budgetReader struct {
	r    io.Reader
	left *int64
}

func (br *budgetReader) Read(p []byte) (int, error) {
	if *br.left <= 0 {
		return 0, errBudget
	}
	if int64(len(p)) > *br.left {
		p = p[:*br.left]
	}
	n, err := br.r.Read(p)
	*br.left -= int64(n)
	return n, err
}

// textOf returns the character data of the first element named local.
func textOf(dec *xml.Decoder, local string) (string, error) {
	var sb strings.Builder
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == local || depth > 0 {
				depth++
			}
		case xml.EndElement:
			if depth > 0 {
				if depth--; depth == 0 {
					return sb.String(), nil
				}
			}
		case xml.CharData:
			if depth > 0 && sb.Len() < maxHeading*4 {
				sb.Write(t)
			}
		}
	}
}

// docxStyles maps paragraph style ids to outline levels: 0 for Title,
// 1-9 for headings.
func docxStyles(dec *xml.Decoder, styles map[string]int) error {
	var id string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		t, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch t.Name.Local {
		case "style":
			id = attr(t, "styleId")
		case "name":
			name := strings.ToLower(attr(t, "val"))
			if name == "title" {
				styles[id] = 0
			} else if n, ok := strings.CutPrefix(name, "heading "); ok {
				if lvl, err := strconv.Atoi(n); err == nil && lvl >= 1 && lvl <= 9 {
					styles[id] = lvl
				}
			}
		case "outlineLvl":
			if lvl, err := strconv.Atoi(attr(t, "val")); err == nil && lvl >= 0 && lvl <= 8 && id != "" {
				if _, named := styles[id]; !named {
					styles[id] = lvl + 1
				}
			}
		}
	}
}

// headingLevel knows the built-in English style ids for documents without
// styles.xml.
func headingLevel(styles map[string]int, id string) (int, bool) {
	if lvl, ok := styles[id]; ok {
		return lvl, true
	}
	l := strings.ToLower(id)
	if l == "title" {
		return 0, true
	}
	if n, ok := strings.CutPrefix(l, "heading"); ok {
		if lvl, err := strconv.Atoi(n); err == nil && lvl >= 1 && lvl <= 9 {
			return lvl, true
		}
	}
	return 0, false
}

// docxBody writes the paragraphs of word/document.xml. Only w:t text is
// taken, so tracked deletions (w:delText) and field codes stay out.
func docxBody(ctx context.Context, dec *xml.Decoder, styles map[string]int, b *builder, seen func(level int, text string)) error {
	var (
		para          strings.Builder
		style         string
		outline       = -1
		inText, inRun int
		inPara        bool
	)
	emit := func() error {
		text := collapse(para.String())
		para.Reset()
		lvl, isHeading := headingLevel(styles, style)
		if outline >= 0 {
			lvl, isHeading = outline+1, true
		}
		style, outline = "", -1
		if text == "" {
			return nil
		}
		if isHeading {
			seen(lvl, text)
			return b.section(text)
		}
		b.para()
		err := b.inline(text)
		b.para()
		return err
	}
	for n := 0; ; n++ {
		if n%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return emit()
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "p":
				if inPara { // a text box inside a paragraph: end the outer one here
					if err := emit(); err != nil {
						return err
					}
				}
				inPara = true
			case "pStyle":
				style = attr(t, "val")
			case "outlineLvl":
				if lvl, err := strconv.Atoi(attr(t, "val")); err == nil && lvl >= 0 && lvl <= 8 {
					outline = lvl
				}
			case "r":
				inRun++
			case "t":
				inText++
			case "tab", "br", "cr":
				if inRun > 0 {
					para.WriteByte(' ')
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "p":
				inPara = false
				if err := emit(); err != nil {
					return err
				}
			case "r":
				inRun = max(inRun-1, 0)
			case "t":
				inText = max(inText-1, 0)
			}
		case xml.CharData:
			if inText > 0 {
				if para.Len() > b.max*4 {
					return errFull
				}
				para.Write(t)
			}
		}
	}
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
