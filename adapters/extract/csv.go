package extract

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CSV bounds: a spreadsheet export wider or longer than this is not
// knowledge a person wrote, and a million-column line must not become a
// million "header: value" lines.
const (
	maxCSVColumns = 1000
	maxCSVRows    = 100_000
)

// extractCSV writes each row as a paragraph of "header: value" lines, so a
// chunk of rows still says what each value means. The first row is the
// header; empty cells are left out. The delimiter (comma, semicolon as
// Dutch Excel writes, or tab) is taken from the header line.
func extractCSV(ctx context.Context, data []byte, b *builder) error {
	text, ok := decodeText(data)
	if !ok {
		return fail(ErrDamaged, "CSV file contains binary data")
	}
	comma := delimiter(text)
	// encoding/csv would allocate a million fields for a million-column
	// line before we could count them.
	if n := widestRecord(text, comma); n > maxCSVColumns {
		return fail(ErrOutputLimit, "CSV has %d columns; at most %d are supported", n, maxCSVColumns)
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = true

	header, err := readRow(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = collapse(h)
		if names[i] == "" {
			names[i] = fmt.Sprintf("column %d", i+1)
		}
	}
	var lines []string
	for n := 1; ; n++ {
		if n%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		row, err := readRow(r)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n > maxCSVRows {
			return &Error{Kind: ErrOutputLimit, Reason: fmt.Sprintf("output limit reached: CSV has more than %d rows", maxCSVRows)}
		}
		lines = lines[:0]
		for i, v := range row {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			name := fmt.Sprintf("column %d", i+1)
			if i < len(names) {
				name = names[i]
			}
			lines = append(lines, name+": "+v)
		}
		if err := b.raw(strings.Join(lines, "\n")); err != nil {
			return err
		}
	}
}

func readRow(r *csv.Reader) ([]string, error) {
	row, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fail(ErrDamaged, "CSV is damaged near line %d", pe.Line)
		}
		return nil, fail(ErrDamaged, "CSV is damaged")
	}
	if len(row) > maxCSVColumns {
		return nil, fail(ErrOutputLimit, "CSV has %d columns; at most %d are supported", len(row), maxCSVColumns)
	}
	return row, nil
}

// widestRecord counts the fields of the widest record, minding quotes.
func widestRecord(text string, comma rune) int {
	widest, fields, quoted := 0, 1, false
	for _, c := range text {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == comma:
			fields++
		case c == '\n':
			widest, fields = max(widest, fields), 1
		}
	}
	return max(widest, fields)
}

// delimiter picks the most frequent of comma, semicolon and tab on the
// first line.
func delimiter(text string) rune {
	first, _, _ := strings.Cut(text, "\n")
	best, n := ',', strings.Count(first, ",")
	for _, c := range []rune{';', '\t'} {
		if m := strings.Count(first, string(c)); m > n {
			best, n = c, m
		}
	}
	return best
}
