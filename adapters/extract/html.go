package extract

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// Elements whose content is not text a reader would call the page's: code,
// styling, navigation and page furniture.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Nav: true, atom.Footer: true, atom.Aside: true, atom.Form: true,
	atom.Svg: true, atom.Math: true, atom.Iframe: true, atom.Object: true,
	atom.Canvas: true, atom.Select: true, atom.Button: true, atom.Dialog: true,
}

// Elements that end a paragraph.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true,
	atom.Main: true, atom.Header: true, atom.Blockquote: true, atom.Li: true,
	atom.Ul: true, atom.Ol: true, atom.Dl: true, atom.Dt: true, atom.Dd: true,
	atom.Table: true, atom.Tr: true, atom.Caption: true, atom.Pre: true,
	atom.Br: true, atom.Hr: true, atom.Figure: true, atom.Figcaption: true,
	atom.Address: true, atom.Details: true, atom.Summary: true,
	atom.Fieldset: true, atom.Body: true,
}

var headings = map[atom.Atom]bool{
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
}

// void elements have no end tag, so they can't open a skipped region.
var void = map[atom.Atom]bool{
	atom.Area: true, atom.Base: true, atom.Br: true, atom.Col: true, atom.Embed: true,
	atom.Hr: true, atom.Img: true, atom.Input: true, atom.Link: true, atom.Meta: true,
	atom.Source: true, atom.Track: true, atom.Wbr: true,
}

// extractHTML streams the document through x/net/html's tokenizer rather
// than building a tree: no tree means no nesting depth to exhaust and none
// of the tree builder's worst cases on hostile markup; the work is linear in
// the input. Headings start sections; the title comes from <title>, else
// the first <h1>.
func extractHTML(ctx context.Context, data []byte, b *builder) error {
	z := html.NewTokenizer(bytes.NewReader(decodeHTML(data)))
	var (
		skip      atom.Atom // the element being skipped, with its nesting depth
		skipDepth int
		inTitle   bool
		title     strings.Builder
		heading   *strings.Builder
		firstH1   string
	)
	for n := 0; ; n++ {
		if n%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if errors.Is(z.Err(), io.EOF) {
				b.setTitle(title.String())
				b.setTitle(firstH1)
				return nil
			}
			return fail(ErrDamaged, "HTML file is damaged or not readable")
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			start := tt != html.EndTagToken
			if skipDepth > 0 {
				switch {
				case a == skip && tt == html.StartTagToken:
					skipDepth++
				case a == skip && tt == html.EndTagToken:
					skipDepth--
				}
				continue
			}
			if tt == html.StartTagToken && !void[a] && (skipped[a] || (hasAttr && hiddenAttrs(z))) {
				skip, skipDepth = a, 1
				continue
			}
			switch {
			case a == atom.Title:
				inTitle = start
			case headings[a] && start:
				if heading != nil { // the previous one was never closed
					if err := b.section(heading.String()); err != nil {
						return err
					}
				}
				b.para()
				heading = &strings.Builder{}
			case headings[a] && heading != nil:
				h := heading.String()
				heading = nil
				if a == atom.H1 && firstH1 == "" {
					firstH1 = h
				}
				if err := b.section(h); err != nil {
					return err
				}
			case blocks[a]:
				b.para()
			case a == atom.Td || a == atom.Th:
				if err := b.inline(" "); err != nil {
					return err
				}
			}
		case html.TextToken:
			if skipDepth > 0 {
				continue
			}
			text := string(z.Text())
			switch {
			case inTitle:
				if title.Len() < maxHeading*4 {
					title.WriteString(text)
				}
			case heading != nil:
				if heading.Len() < maxHeading*4 {
					heading.WriteString(text)
				}
			default:
				if err := b.inline(text); err != nil {
					return err
				}
			}
		}
	}
}

// hiddenAttrs: the element is hidden from readers (hidden, aria-hidden) or
// is navigation by role.
func hiddenAttrs(z *html.Tokenizer) bool {
	for {
		k, v, more := z.TagAttr()
		switch string(k) {
		case "hidden":
			return true
		case "aria-hidden":
			if string(v) == "true" {
				return true
			}
		case "role":
			if string(v) == "navigation" {
				return true
			}
		}
		if !more {
			return false
		}
	}
}

// decodeHTML returns data as UTF-8. Valid UTF-8 is taken as UTF-8 whatever
// a <meta> says (mislabelled pages are common, and a page already converted
// by a fetcher must not be converted twice); otherwise the encoding comes
// from the byte order mark or <meta charset>, falling back to Windows-1252,
// per the HTML standard's rules as x/net/html/charset implements them.
func decodeHTML(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	if utf8.Valid(data) {
		return data
	}
	enc, _, _ := charset.DetermineEncoding(data, "text/html")
	out, err := enc.NewDecoder().Bytes(data)
	if err != nil {
		return data
	}
	return out
}
