package knowledge

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Section is a piece of a source document under one heading, as text
// extraction found it.
type Section struct {
	Heading string
	Text    string
}

// Chunking sizes, in runes. Passages near 1,000 characters keep a topic
// together without diluting full-text ranking; the overlap carries the end
// of one passage into the next so an answer split at a boundary is still
// found whole in one of them.
const (
	ChunkTarget  = 1000
	ChunkOverlap = 150
	MaxChunks    = 2000
)

// Split cuts sections into passages that respect structure: a passage never
// spans two headings, paragraphs stay whole when they fit, long paragraphs
// are cut at sentence and then word boundaries. Consecutive passages of one
// section overlap by about ChunkOverlap runes.
func Split(sections []Section) []Section {
	var out []Section
	for _, s := range sections {
		heading := strings.TrimSpace(s.Heading)
		var cur strings.Builder
		flush := func() {
			text := strings.TrimSpace(cur.String())
			if text != "" {
				out = append(out, Section{Heading: heading, Text: text})
			}
			cur.Reset()
			if text != "" {
				cur.WriteString(tail(text, ChunkOverlap))
			}
		}
		started := false
		for _, para := range pieces(s.Text) {
			if started && utf8.RuneCountInString(cur.String())+utf8.RuneCountInString(para)+2 > ChunkTarget {
				flush()
			}
			if cur.Len() > 0 {
				cur.WriteString("\n\n")
			}
			cur.WriteString(para)
			started = true
		}
		if text := strings.TrimSpace(cur.String()); text != "" && (len(out) == 0 || out[len(out)-1].Text != text) {
			// Only the overlap left over from the last flush is not new text.
			if !(len(out) > 0 && out[len(out)-1].Heading == heading && strings.HasSuffix(out[len(out)-1].Text, text)) {
				out = append(out, Section{Heading: heading, Text: text})
			}
		}
		if len(out) >= MaxChunks {
			return out[:MaxChunks]
		}
	}
	return out
}

// pieces splits text into paragraphs no longer than ChunkTarget.
func pieces(text string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if utf8.RuneCountInString(p) <= ChunkTarget {
			out = append(out, p)
			continue
		}
		out = append(out, splitLong(p)...)
	}
	return out
}

// splitLong cuts a paragraph at sentence ends, or at spaces when a sentence
// is itself too long, or anywhere as a last resort.
func splitLong(p string) []string {
	var out []string
	r := []rune(p)
	for len(r) > ChunkTarget {
		cut := -1
		for i := ChunkTarget; i > ChunkTarget/2; i-- {
			if (r[i-1] == '.' || r[i-1] == '?' || r[i-1] == '!') && unicode.IsSpace(r[i]) {
				cut = i
				break
			}
		}
		if cut < 0 {
			for i := ChunkTarget; i > ChunkTarget/2; i-- {
				if unicode.IsSpace(r[i]) {
					cut = i
					break
				}
			}
		}
		if cut < 0 {
			cut = ChunkTarget
		}
		out = append(out, strings.TrimSpace(string(r[:cut])))
		r = r[cut:]
	}
	if s := strings.TrimSpace(string(r)); s != "" {
		out = append(out, s)
	}
	return out
}

// tail returns about the last n runes of s, starting at a word boundary.
func tail(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	t := r[len(r)-n:]
	for i, c := range t {
		if unicode.IsSpace(c) {
			return strings.TrimSpace(string(t[i:]))
		}
	}
	return string(t)
}

// EmbeddingText is the text a passage's vector is computed from: the item's
// title and the passage's heading give the passage its context.
func EmbeddingText(title, heading, body string) string {
	var b strings.Builder
	for _, s := range []string{title, heading, body} {
		if s = strings.TrimSpace(s); s != "" {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(s)
		}
	}
	return b.String()
}
