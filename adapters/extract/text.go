package extract

import (
	"context"
	"strings"
)

// extractText reads plain text: paragraphs are separated by blank lines
// (or form feeds); line breaks inside a paragraph are kept, runs of
// whitespace within a line are collapsed.
func extractText(ctx context.Context, data []byte, b *builder) error {
	text, ok := decodeText(data)
	if !ok {
		return fail(ErrDamaged, "text file contains binary data")
	}
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\f", "\n\n").Replace(text)
	var para []string
	emit := func() error {
		err := b.raw(strings.Join(para, "\n"))
		para = para[:0]
		return err
	}
	for i, line := range strings.Split(text, "\n") {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		// Runs of spaces and indentation carry no meaning for search.
		line = collapse(line)
		if line == "" {
			if err := emit(); err != nil {
				return err
			}
			continue
		}
		para = append(para, line)
	}
	return emit()
}
