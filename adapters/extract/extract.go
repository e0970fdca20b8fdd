// Package extract turns uploaded files (PDF, plain text, Markdown, HTML, DOCX,
// CSV) into plain text with enough structure (title, headings, paragraphs) for
// chunking. Every extraction runs under caps on input size, output size, time
// and memory: a malformed or hostile file fails with a reason a user can read,
// never the process. PDFs are read by Poppler's pdftotext in a separate,
// resource-limited process; the other formats are parsed in-process by
// streaming parsers with explicit bounds.
package extract

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Type is a supported file type, as detected by Sniff.
type Type string

// The supported types.
const (
	PDF      Type = "pdf"
	Text     Type = "txt"
	Markdown Type = "md"
	HTML     Type = "html"
	DOCX     Type = "docx"
	CSV      Type = "csv"
)

// Section is a heading with the text under it; paragraphs in Text are
// separated by blank lines. The first section of a document may have no
// heading.
type Section struct {
	Heading string
	Text    string
}

// Document is the extracted text of a file.
type Document struct {
	Title    string
	Sections []Section
}

// Limits caps one extraction. Zero fields take the defaults below.
type Limits struct {
	// MaxInput is the largest file accepted, in bytes.
	MaxInput int64
	// MaxOutput is the most text produced, in runes (headings included).
	MaxOutput int
	// Timeout bounds the whole extraction.
	Timeout time.Duration
	// MaxMemory is the address-space limit of the PDF subprocess and the most
	// bytes a DOCX may expand to. In-process parsers are otherwise bounded by
	// MaxInput and MaxOutput.
	MaxMemory int64
}

// Defaults for zero Limits fields.
const (
	DefaultMaxInput  = 50 << 20
	DefaultMaxOutput = 5_000_000
	DefaultTimeout   = 30 * time.Second
	DefaultMaxMemory = 512 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxInput <= 0 {
		l.MaxInput = DefaultMaxInput
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	return l
}

// Kinds of failure, for errors.Is. The errors returned are *Error, whose
// message is the reason to show the user.
var (
	ErrUnsupported  = errors.New("unsupported file type")
	ErrTypeMismatch = errors.New("file type does not match content")
	ErrTooLarge     = errors.New("file too large")
	ErrDamaged      = errors.New("file truncated or damaged")
	ErrEncrypted    = errors.New("file is password-protected")
	ErrEmpty        = errors.New("no text found")
	ErrOutputLimit  = errors.New("output limit reached")
	ErrMemoryLimit  = errors.New("memory limit reached")
	ErrTimeout      = errors.New("timed out")
)

// Error is a failed sniff or extraction: Reason is written for the user who
// uploaded the file, Kind is one of the sentinels above.
type Error struct {
	Kind   error
	Reason string
}

func (e *Error) Error() string { return e.Reason }
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// name is how a type is called in reasons shown to users.
func (t Type) name() string {
	switch t {
	case Text:
		return "text"
	case Markdown:
		return "Markdown"
	default:
		return strings.ToUpper(string(t))
	}
}

// Extract returns the text of data, read as type t (use Sniff first).
//
// When the output limit is reached, the text extracted so far is returned
// with an error whose Kind is ErrOutputLimit: the caller decides whether a
// cut document is acceptable. Every other error comes with an empty Document.
func Extract(ctx context.Context, t Type, data []byte, lim Limits) (Document, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxInput {
		return Document{}, fail(ErrTooLarge, "file is larger than %s", size(lim.MaxInput))
	}
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()

	b := newBuilder(lim.MaxOutput)
	var err error
	switch t {
	case PDF:
		// Already isolated in its own process, with its own limits.
		err = extractPDF(ctx, data, lim, b)
	case Text, Markdown, HTML, DOCX, CSV:
		err = guarded(ctx, t, lim.Timeout, func() error { return extractInProcess(ctx, t, data, lim, b) })
	default:
		return Document{}, fail(ErrUnsupported, "file type %q is not supported", t)
	}
	// Parsers hand back ctx.Err() as they notice it; say what it means.
	if ctx.Err() != nil && (err == nil || errors.Is(err, ctx.Err())) {
		err = ctxErr(ctx, lim.Timeout)
	}
	var e *Error
	switch {
	case err == nil:
	case errors.As(err, &e) && e.Kind == ErrOutputLimit:
		return b.document(), err
	default:
		return Document{}, err
	}
	doc := b.document()
	if len(doc.Sections) == 0 {
		if t == PDF {
			return Document{}, fail(ErrEmpty, "PDF has no text to extract (it may contain only scanned images)")
		}
		return Document{}, fail(ErrEmpty, "%s file contains no text", t.name())
	}
	return doc, nil
}

func extractInProcess(ctx context.Context, t Type, data []byte, lim Limits, b *builder) error {
	switch t {
	case Text:
		return extractText(ctx, data, b)
	case Markdown:
		return extractMarkdown(ctx, data, b)
	case HTML:
		return extractHTML(ctx, data, b)
	case DOCX:
		return extractDOCX(ctx, data, lim, b)
	case CSV:
		return extractCSV(ctx, data, b)
	}
	return fail(ErrUnsupported, "file type %q is not supported", t)
}

// guarded runs an in-process parser so that a panic in it (a bug, or a
// library tripping over hostile input) fails the file rather than the
// process, and so that the caller gets its answer at the deadline. The
// parsers check ctx as they go, so an abandoned one stops soon after.
func guarded(ctx context.Context, t Type, timeout time.Duration, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fail(ErrDamaged, "%s file is damaged or not readable", t.name())
			}
		}()
		done <- fn()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctxErr(ctx, timeout)
	}
}

// ctxErr reports why ctx ended: a deadline is our timeout, a cancellation
// is the caller's and passed through as such.
func ctxErr(ctx context.Context, after time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fail(ErrTimeout, "extraction timed out after %s", after)
	}
	return ctx.Err()
}

// checkEvery is how many tokens or rows a parser handles between looks at
// its context.
const checkEvery = 1024

// maxHeading caps a heading or title; longer ones are cut (they are almost
// certainly not headings).
const maxHeading = 500

// builder collects sections and paragraphs while counting runes against the
// output limit.
type builder struct {
	max      int
	runes    int
	title    string
	sections []Section

	heading string
	text    strings.Builder
	// newPara: the next text starts a new paragraph; space: whitespace was
	// seen since the last character written inline.
	newPara bool
	space   bool
}

func newBuilder(max int) *builder { return &builder{max: max} }

var errFull = &Error{Kind: ErrOutputLimit, Reason: "output limit reached: the file has more text than is allowed"}

// setTitle sets the title once; later calls are ignored.
func (b *builder) setTitle(s string) {
	if b.title == "" {
		b.title = clip(collapse(s), maxHeading)
	}
}

// section ends the current section and starts one under heading.
func (b *builder) section(heading string) error {
	b.flush()
	h := clip(collapse(heading), maxHeading)
	if err := b.count(h); err != nil {
		return err
	}
	b.heading = h
	return nil
}

func (b *builder) flush() {
	text := strings.TrimSpace(b.text.String())
	if b.heading != "" || text != "" {
		b.sections = append(b.sections, Section{Heading: b.heading, Text: text})
	}
	b.heading = ""
	b.text.Reset()
	b.newPara, b.space = false, false
}

// para ends the current paragraph.
func (b *builder) para() { b.newPara = true }

// inline appends text with runs of whitespace collapsed to one space, as a
// browser shows it.
func (b *builder) inline(s string) error {
	for _, r := range s {
		if unicode.IsSpace(r) {
			b.space = true
			continue
		}
		if err := b.start(); err != nil {
			return err
		}
		if b.space && b.text.Len() > 0 {
			if err := b.put(' '); err != nil {
				return err
			}
		}
		b.space = false
		if err := b.put(r); err != nil {
			return err
		}
	}
	return nil
}

// raw appends text as it is (code blocks, CSV rows), trimmed of blank
// lines around it, as a paragraph of its own.
func (b *builder) raw(s string) error {
	s = strings.Trim(s, "\r\n")
	if strings.TrimSpace(s) == "" {
		return nil
	}
	b.para()
	if err := b.start(); err != nil {
		return err
	}
	for _, r := range s {
		if err := b.put(r); err != nil {
			return err
		}
	}
	b.para()
	return nil
}

// start writes the paragraph separator a pending paragraph break asks for.
func (b *builder) start() error {
	if !b.newPara {
		return nil
	}
	b.newPara, b.space = false, false
	if b.text.Len() == 0 {
		return nil
	}
	if err := b.put('\n'); err != nil {
		return err
	}
	return b.put('\n')
}

func (b *builder) put(r rune) error {
	if b.runes >= b.max {
		return errFull
	}
	b.runes++
	b.text.WriteRune(r)
	return nil
}

func (b *builder) count(s string) error {
	n := utf8.RuneCountInString(s)
	if b.runes+n > b.max {
		return errFull
	}
	b.runes += n
	return nil
}

func (b *builder) document() Document {
	b.flush()
	return Document{Title: b.title, Sections: b.sections}
}

// size writes n bytes for people.
func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// collapse trims s and collapses its runs of whitespace to single spaces.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}
