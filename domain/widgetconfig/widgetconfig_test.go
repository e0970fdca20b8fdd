package widgetconfig

import "testing"

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
