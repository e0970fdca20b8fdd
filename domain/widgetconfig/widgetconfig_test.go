package widgetconfig

import (
	"errors"
	"testing"

	"github.com/companin/companin/domain/validation"
)

func TestNormalizeOrigin(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://Shop.Example.com", "https://shop.example.com", true},
		{"http://localhost:3000/", "http://localhost:3000", true},
		{"https://shop.example.com/path", "", false},
		{"ftp://shop.example.com", "", false},
		{"https://user:pw@shop.example.com", "", false},
		{"shop.example.com", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeOrigin(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDefaults(t *testing.T) {
	var c Config
	if err := c.Create(Spec{AllowedOrigins: []string{"https://A.example"}}); err != nil {
		t.Fatal(err)
	}
	s := c.Spec()
	if s.Position != "bottom-right" || s.PrimaryColor == "" || s.AllowedOrigins[0] != "https://a.example" {
		t.Errorf("spec = %+v", s)
	}
	if err := c.Replace(Spec{PrimaryColor: "blue"}); err == nil {
		t.Error("bad colour accepted")
	}
}

func TestContrast(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#2563eb", "#ffffff", 5.17},
	}
	for _, tt := range tests {
		if got := Contrast(tt.a, tt.b); got < tt.want-0.01 || got > tt.want+0.01 {
			t.Errorf("Contrast(%s, %s) = %.2f, want %.2f", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		field string // "" when valid
	}{
		{"defaults", Spec{}, ""},
		{"low contrast", Spec{PrimaryColor: "#ffff00", TextColor: "#ffffff"}, "text_color"},
		{"dark on light", Spec{PrimaryColor: "#fde047", TextColor: "#111827"}, ""},
		{"emoji icon", Spec{LauncherIcon: "💬"}, ""},
		{"https icon", Spec{LauncherIcon: "https://cdn.example.com/chat.svg"}, ""},
		{"data icon", Spec{LauncherIcon: "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="}, ""},
		{"script icon", Spec{LauncherIcon: "javascript:alert(1)"}, "launcher_icon"},
		{"markup icon", Spec{LauncherIcon: "<b>"}, "launcher_icon"},
		{"long text icon", Spec{LauncherIcon: "Chat with us now"}, "launcher_icon"},
		{"bad translation locale", Spec{Translations: map[string]Texts{"not a locale!": {Title: "x"}}}, "translations"},
		{"bad origin", Spec{AllowedOrigins: []string{"https://shop.example.com/page"}}, "allowed_origins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			err := c.Create(tt.spec)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			var ve *validation.Error
			if !errors.As(err, &ve) || ve.Fields[tt.field] == "" {
				t.Fatalf("got %v, want a problem with %s", err, tt.field)
			}
		})
	}
}

func TestTranslationsAndOrigins(t *testing.T) {
	var c Config
	err := c.Create(Spec{
		AllowedOrigins: []string{"https://Shop.example.com"},
		Translations:   map[string]Texts{"nl_BE": {Title: "  Hulp  "}, "en": {Title: "Help"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Spec()
	if got := s.Translations["nl-BE"].Title; got != "Hulp" {
		t.Errorf("nl-BE title = %q (translations %v), want the key normalised and the text trimmed", got, s.Translations)
	}
	for origin, want := range map[string]bool{
		"https://shop.example.com": true, "https://SHOP.example.com/": true,
		"https://evil.example.com": false, "http://shop.example.com": false, "": false, "null": false,
	} {
		if got := s.AllowsOrigin(origin); got != want {
			t.Errorf("AllowsOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
	if !(Spec{}).AllowsOrigin("https://anywhere.example") {
		t.Error("a config without allowed origins refuses an origin")
	}
}
