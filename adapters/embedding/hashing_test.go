package embedding

import (
	"context"
	"slices"
	"testing"
)

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestHashingSimilarity(t *testing.T) {
	q := Vector("How do I reset my password?")
	tests := []struct {
		text   string
		closer bool
	}{
		{"Resetting your password: go to settings", true},
		{"how do i reset my pasword", true}, // typo
		{"What are your business hours?", false},
	}
	far := cos(q, Vector("Shipping costs for international orders"))
	for _, tt := range tests {
		got := cos(q, Vector(tt.text))
		if tt.closer && got <= far {
			t.Errorf("%q: similarity %.3f not above unrelated %.3f", tt.text, got, far)
		}
	}
	// A Dutch compound shares n-grams with its parts.
	m := Vector("Hoe ontkalk ik mijn espressomachine?")
	if near, far := cos(m, Vector("how do I descale my espresso machine")), cos(m, Vector("opening hours of the shop")); near <= far {
		t.Errorf("compound: similarity %.3f not above unrelated %.3f", near, far)
	}
	if got := tokens("Don't   stop—it’s King's Day!"); !slices.Equal(got, []string{"don't", "stop", "it's", "king's", "day"}) {
		t.Errorf("tokens = %q", got)
	}
	v, _ := Hashing{}.Embed(context.Background(), []string{"x", "x"})
	if cos(v[0], v[1]) < 0.999 {
		t.Error("not deterministic")
	}
	if n := cos(q, q); n < 0.999 || n > 1.001 {
		t.Errorf("not normalised: %f", n)
	}
}
