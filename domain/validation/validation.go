// Package validation collects every problem with a command's input at once,
// by field, so a client fixes them all in one round trip.
package validation

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is matched by every *Error.
var ErrInvalid = errors.New("invalid input")

// Error lists problems by field name (JSON names, dotted for nesting).
type Error struct {
	Fields map[string]string
}

func (e *Error) Error() string {
	keys := slices.Sorted(maps.Keys(e.Fields))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

func (e *Error) Unwrap() error { return ErrInvalid }

// Checker accumulates problems; the zero value is ready to use.
type Checker struct {
	fields map[string]string
}

// Add records a problem with field unless one is already recorded.
func (c *Checker) Add(field, msg string) {
	if c.fields == nil {
		c.fields = map[string]string{}
	}
	if _, ok := c.fields[field]; !ok {
		c.fields[field] = msg
	}
}

// Check records msg for field when ok is false.
func (c *Checker) Check(ok bool, field, msg string) {
	if !ok {
		c.Add(field, msg)
	}
}

// Text checks a string: valid UTF-8, within max runes, and non-blank when
// required. It returns the trimmed value.
func (c *Checker) Text(field, s string, required bool, max int) string {
	if !utf8.ValidString(s) {
		c.Add(field, "must be valid UTF-8")
		return s
	}
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		c.Add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		c.Add(field, fmt.Sprintf("must be at most %d characters", max))
	case strings.ContainsRune(s, 0):
		c.Add(field, "must not contain NUL characters")
	}
	return s
}

// List checks a list of short strings.
func (c *Checker) List(field string, items []string, maxItems, maxLen int) []string {
	if len(items) > maxItems {
		c.Add(field, fmt.Sprintf("must have at most %d items", maxItems))
		return items
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		v := c.Text(fmt.Sprintf("%s[%d]", field, i), it, true, maxLen)
		out = append(out, v)
	}
	return out
}

// Object checks a free-form JSON object against a size budget in bytes.
func (c *Checker) Object(field string, m map[string]any, maxBytes int) {
	if m == nil {
		return
	}
	b, err := json.Marshal(m)
	if err != nil {
		c.Add(field, "must be a JSON object")
		return
	}
	if len(b) > maxBytes {
		c.Add(field, fmt.Sprintf("must be at most %d bytes of JSON", maxBytes))
	}
	if !utf8.Valid(b) {
		c.Add(field, "must be valid UTF-8")
	}
}

// Err returns the collected problems, or nil.
func (c *Checker) Err() error {
	if len(c.fields) == 0 {
		return nil
	}
	return &Error{Fields: c.fields}
}

// Locale checks a BCP 47-like language tag ("en", "nl-BE") and returns it
// normalised; empty stays empty.
func (c *Checker) Locale(field, s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	ok := len(s) >= 2 && len(s) <= 35
	for _, r := range s {
		if !(r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			ok = false
		}
	}
	if !ok {
		c.Add(field, "must be a language tag such as \"en\" or \"nl-BE\"")
		return s
	}
	return strings.ReplaceAll(s, "_", "-")
}
