package extract

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExtract(t *testing.T) {
	tests := []struct {
		name string
		typ  Type
		data []byte
		want Document
	}{
		{
			name: "text paragraphs",
			typ:  Text,
			data: []byte("Opening hours\r\nMonday to Friday, 9 to 5.\r\n\r\n\r\nReturns are free within 30 days.\n"),
			want: Document{Sections: []Section{{Text: "Opening hours\nMonday to Friday, 9 to 5.\n\nReturns are free within 30 days."}}},
		},
		{
			name: "text in Windows-1252",
			typ:  Text,
			data: []byte("Caf\xe9 \x80 5"),
			want: Document{Sections: []Section{{Text: "Café € 5"}}},
		},
		{
			name: "markdown headings and code",
			typ:  Markdown,
			data: []byte("# Handbook\n\nIntro with *emphasis* and a [link](http://x.test).\n\n## Returns\n\n- free\n- within 30 days\n\n```\n# not a heading\n```\n"),
			want: Document{Title: "Handbook", Sections: []Section{
				{Heading: "Handbook", Text: "Intro with emphasis and a link."},
				{Heading: "Returns", Text: "free\n\nwithin 30 days\n\n# not a heading"},
			}},
		},
		{
			name: "html without boilerplate",
			typ:  HTML,
			data: []byte(`<!DOCTYPE html><html><head><title>Shop &amp; Co</title><style>p{color:red}</style><script>var x = "<p>no</p>";</script></head>
<body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<h1>Returns</h1><p>Returns are <b>free</b>
   within 30 days.</p><div hidden>secret</div><p>Keep the receipt.</p>
<h2>Exchanges</h2><ul><li>Size</li><li>Colour</li></ul><table><tr><td>a</td><td>b</td></tr></table>
<footer>© Shop</footer></body></html>`),
			want: Document{Title: "Shop & Co", Sections: []Section{
				{Heading: "Returns", Text: "Returns are free within 30 days.\n\nKeep the receipt."},
				{Heading: "Exchanges", Text: "Size\n\nColour\n\na b"},
			}},
		},
		{
			name: "html title from h1",
			typ:  HTML,
			data: []byte(`<h1>Only <i>heading</i></h1><p>Body.</p>`),
			want: Document{Title: "Only heading", Sections: []Section{{Heading: "Only heading", Text: "Body."}}},
		},
		{
			name: "docx with localized heading styles",
			typ:  DOCX,
			data: docxFile{
				Title:  "Personeelsgids",
				Styles: `<w:style w:type="paragraph" w:styleId="Kop1"><w:name w:val="heading 1"/></w:style><w:style w:type="paragraph" w:styleId="Kop2"><w:name w:val="heading 2"/></w:style>`,
				Body: para("", "Welkom bij het team.") + para("Kop1", "Verlof") + para("", "Je hebt 25 dagen.") +
					`<w:p><w:r><w:t>Tracked </w:t></w:r><w:del><w:r><w:delText>gone</w:delText></w:r></w:del><w:r><w:tab/><w:t>change</w:t></w:r></w:p>` +
					para("Kop2", "Ziekte") + para("", "Meld je voor 9 uur."),
			}.Bytes(),
			want: Document{Title: "Personeelsgids", Sections: []Section{
				{Text: "Welkom bij het team."},
				{Heading: "Verlof", Text: "Je hebt 25 dagen.\n\nTracked change"},
				{Heading: "Ziekte", Text: "Meld je voor 9 uur."},
			}},
		},
		{
			name: "docx without styles.xml",
			typ:  DOCX,
			data: docxFile{Body: para("Title", "Guide") + para("Heading1", "Start") + para("", "Go.")}.Bytes(),
			want: Document{Title: "Guide", Sections: []Section{{Heading: "Guide"}, {Heading: "Start", Text: "Go."}}},
		},
		{
			name: "csv rows as header: value",
			typ:  CSV,
			data: []byte("name;city;note\nAnn;Utrecht;\n\"Bob; Jr\";Gent;\"says \"\"hi\"\"\"\n"),
			want: Document{Sections: []Section{{Text: "name: Ann\ncity: Utrecht\n\nname: Bob; Jr\ncity: Gent\nnote: says \"hi\""}}},
		},
		{
			name: "pdf pages and title",
			typ:  PDF,
			data: pdfFile{Title: "Handbook (2024) & more", Pages: [][]string{{"Opening hours", "We are open daily."}, {"Returns are free."}}}.Bytes(),
			want: Document{Title: "Handbook (2024) & more", Sections: []Section{
				{Text: "Opening hours We are open daily."},
				{Text: "Returns are free."},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Extract(context.Background(), tt.typ, tt.data, Limits{})
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestExtractFailures(t *testing.T) {
	long := []byte(strings.Repeat("word ", 1000))
	var pages [][]string
	for range 5 {
		pages = append(pages, strings.Split(strings.Repeat("many words on a line\n", 40), "\n"))
	}
	tests := []struct {
		name    string
		typ     Type
		data    []byte
		lim     Limits
		want    error
		partial bool // some text comes back with the error
	}{
		{name: "input too large", typ: Text, data: long, lim: Limits{MaxInput: 100}, want: ErrTooLarge},
		{name: "output cut", typ: Text, data: long, lim: Limits{MaxOutput: 100}, want: ErrOutputLimit, partial: true},
		{name: "pdf output cut", typ: PDF, data: pdfFile{Pages: pages}.Bytes(), lim: Limits{MaxOutput: 100}, want: ErrOutputLimit, partial: true},
		{name: "timeout", typ: Markdown, data: long, lim: Limits{Timeout: time.Nanosecond}, want: ErrTimeout},
		{name: "pdf timeout", typ: PDF, data: pdfFile{Pages: [][]string{{"x"}}}.Bytes(), lim: Limits{Timeout: time.Nanosecond}, want: ErrTimeout},
		{name: "no text", typ: HTML, data: []byte("<script>only()</script>"), want: ErrEmpty},
		{name: "pdf without text", typ: PDF, data: pdfFile{Pages: [][]string{{}}}.Bytes(), want: ErrEmpty},
		{name: "binary as text", typ: Text, data: []byte("a\x00b"), want: ErrDamaged},
		{name: "docx not a zip", typ: DOCX, data: []byte("PK\x03\x04garbage"), want: ErrDamaged},
		{name: "docx broken xml", typ: DOCX, data: docxFile{Body: "<w:p><w:t>open"}.Bytes(), want: ErrDamaged},
		{name: "unknown type", typ: Type("xlsx"), data: long, want: ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Extract(context.Background(), tt.typ, tt.data, tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Errorf("err = %#v, want an *Error with a reason", err)
			}
			if n := len(got.Sections); (n > 0) != tt.partial {
				t.Errorf("got %d sections with the error, want partial=%v", n, tt.partial)
			}
		})
	}
}

func TestExtractCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Extract(ctx, Text, []byte("hello"), Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
