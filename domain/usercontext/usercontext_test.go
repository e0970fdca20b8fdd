package usercontext

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
)

func TestMergePatch(t *testing.T) {
	var c Context
	if err := c.Create("u1", map[string]any{"name": "Ann", "prefs": map[string]any{"lang": "en", "news": true}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Merge(map[string]any{"name": nil, "tier": "gold", "prefs": map[string]any{"news": nil, "theme": "dark"}}); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(c.Traits())
	want := "map[prefs:map[lang:en theme:dark] tier:gold]"
	if got != want {
		t.Errorf("traits = %s, want %s", got, want)
	}
	if err := c.Erase(); err != nil {
		t.Fatal(err)
	}
	if err := c.Merge(map[string]any{"a": 1}); err != ErrErased {
		t.Errorf("merge after erase: %v", err)
	}
	if err := c.Create("u1", nil); err != nil {
		t.Errorf("create after erase: %v", err)
	}
}

func TestIDIsPerOrganization(t *testing.T) {
	a, b := uuid.New(), uuid.New()
	if ID(a, "u") == ID(b, "u") || ID(a, "u") != ID(a, "u") {
		t.Error("context ids must be stable per (organization, reference) and differ across organizations")
	}
}
