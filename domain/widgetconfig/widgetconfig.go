// Package widgetconfig holds how an organization's chat widget looks and
// where it may be embedded.
package widgetconfig

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/validation"
)

// Stream returns the stream id of config id.
func Stream(id uuid.UUID) string { return "widgetconfig-" + id.String() }

var (
	ErrExists  = errors.New("widget config already exists")
	ErrDeleted = errors.New("widget config is deleted")
)

// Texts are the visitor-facing strings of one locale.
type Texts struct {
	Title       string `json:"title,omitempty"`
	Greeting    string `json:"greeting,omitempty"`
	Placeholder string `json:"placeholder,omitempty"`
}

// Spec is the whole configuration.
type Spec struct {
	AssistantID    *uuid.UUID       `json:"assistant_id,omitempty"`
	Title          string           `json:"title"`
	Greeting       string           `json:"greeting"`
	Placeholder    string           `json:"placeholder"`
	PrimaryColor   string           `json:"primary_color"`
	TextColor      string           `json:"text_color"`
	Position       string           `json:"position"`
	LauncherIcon   string           `json:"launcher_icon"`
	Locale         string           `json:"locale"`
	AllowedOrigins []string         `json:"allowed_origins"`
	Translations   map[string]Texts `json:"translations"`
}

// Created records a new config.
type Created struct{ Spec }

// Updated records the full config after a change.
type Updated struct{ Spec }

// Deleted retires the config.
type Deleted struct{}

func (Created) EventType() string { return "widgetconfig.created" }
func (Updated) EventType() string { return "widgetconfig.updated" }
func (Deleted) EventType() string { return "widgetconfig.deleted" }

// Kinds lists this package's events for the codec.
func Kinds() []event.Kind {
	return []event.Kind{event.KindOf[Created](1), event.KindOf[Updated](1), event.KindOf[Deleted](1)}
}

// Config is the aggregate.
type Config struct {
	event.Recorder
	created, deleted bool
	spec             Spec
}

// Apply folds an event into the state.
func (c *Config) Apply(p event.Payload) {
	switch e := p.(type) {
	case Created:
		c.created, c.spec = true, e.Spec
	case Updated:
		c.spec = e.Spec
	case Deleted:
		c.deleted = true
	}
}

func (c *Config) record(p event.Payload) { c.Apply(p); c.Record(p) }

// Exists reports whether the config is live.
func (c *Config) Exists() bool { return c.created && !c.deleted }

// Spec returns the current configuration.
func (c *Config) Spec() Spec { return c.spec }

// Create validates and records a config, filling defaults.
func (c *Config) Create(s Spec) error {
	if c.created {
		return ErrExists
	}
	s, err := valid(s)
	if err != nil {
		return err
	}
	c.record(Created{s})
	return nil
}

// Replace validates and records a new full spec; no change records nothing.
func (c *Config) Replace(s Spec) error {
	if !c.Exists() {
		return ErrDeleted
	}
	s, err := valid(s)
	if err != nil {
		return err
	}
	c.record(Updated{s})
	return nil
}

// Delete retires the config.
func (c *Config) Delete() {
	if c.Exists() {
		c.record(Deleted{})
	}
}

var color = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func valid(s Spec) (Spec, error) {
	var v validation.Checker
	s.Title = v.Text("title", s.Title, false, 100)
	s.Greeting = v.Text("greeting", s.Greeting, false, 500)
	s.Placeholder = v.Text("placeholder", s.Placeholder, false, 100)
	s.LauncherIcon = v.Text("launcher_icon", s.LauncherIcon, false, 2000)
	v.Check(validIcon(s.LauncherIcon), "launcher_icon",
		"must be an https or data:image URL, or at most 8 characters such as an emoji")
	s.Locale = v.Locale("locale", s.Locale)
	if s.PrimaryColor == "" {
		s.PrimaryColor = "#2563eb"
	}
	if s.TextColor == "" {
		s.TextColor = "#ffffff"
	}
	v.Check(color.MatchString(s.PrimaryColor), "primary_color", "must be a hex colour such as #2563eb")
	v.Check(color.MatchString(s.TextColor), "text_color", "must be a hex colour such as #ffffff")
	if color.MatchString(s.PrimaryColor) && color.MatchString(s.TextColor) {
		// The launcher and the visitor's messages put text_color on
		// primary_color: keep them readable (WCAG 2 AA for normal text).
		r := Contrast(s.PrimaryColor, s.TextColor)
		v.Check(r >= MinContrast, "text_color",
			fmt.Sprintf("must contrast at least %.1f:1 with primary_color (it is %.2f:1)", MinContrast, r))
	}
	if s.Position == "" {
		s.Position = "bottom-right"
	}
	v.Check(s.Position == "bottom-right" || s.Position == "bottom-left", "position", "must be bottom-right or bottom-left")
	if s.AllowedOrigins == nil {
		s.AllowedOrigins = []string{}
	}
	s.AllowedOrigins = v.List("allowed_origins", s.AllowedOrigins, 50, 300)
	for i, o := range s.AllowedOrigins {
		norm, ok := NormalizeOrigin(o)
		v.Check(ok, "allowed_origins", "must be origins such as https://shop.example.com")
		s.AllowedOrigins[i] = norm
	}
	if s.Translations == nil {
		s.Translations = map[string]Texts{}
	}
	v.Check(len(s.Translations) <= 20, "translations", "must have at most 20 locales")
	texts := make(map[string]Texts, len(s.Translations))
	for loc, t := range s.Translations {
		norm := v.Locale("translations", loc)
		t.Title = v.Text("translations."+loc+".title", t.Title, false, 100)
		t.Greeting = v.Text("translations."+loc+".greeting", t.Greeting, false, 500)
		t.Placeholder = v.Text("translations."+loc+".placeholder", t.Placeholder, false, 100)
		texts[norm] = t
	}
	s.Translations = texts
	return s, v.Err()
}

// AllowsOrigin reports whether a page at origin may embed the widget: any
// page when the config lists no origins, else only the listed ones.
func (s Spec) AllowsOrigin(origin string) bool {
	if len(s.AllowedOrigins) == 0 {
		return true
	}
	norm, ok := NormalizeOrigin(origin)
	return ok && slices.Contains(s.AllowedOrigins, norm)
}

// validIcon accepts what the widget can show safely: an image by https (or
// plain http, for local development) or data:image URL, or a few characters
// of text such as an emoji. The widget puts URLs only in an <img> src and
// text only in text nodes.
func validIcon(s string) bool {
	if s == "" || utf8.RuneCountInString(s) <= 8 && !strings.ContainsAny(s, "<>&\"'") {
		return true
	}
	if strings.HasPrefix(s, "data:image/") {
		return !strings.ContainsAny(s, " \"'<>")
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// MinContrast is the contrast ratio WCAG 2 level AA asks of normal text.
const MinContrast = 4.5

// Contrast returns the WCAG 2 contrast ratio (1 to 21) of two #rrggbb
// colours.
func Contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is the WCAG relative luminance of a #rrggbb colour.
func luminance(hex string) float64 {
	n, _ := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	channel := func(v uint64) float64 {
		c := float64(v) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*channel(n>>16&0xff) + 0.7152*channel(n>>8&0xff) + 0.0722*channel(n&0xff)
}

// NormalizeOrigin returns scheme://host[:port] in lower case, and whether s
// is an origin at all (no path, query or credentials).
func NormalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), true
}
