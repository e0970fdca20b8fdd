package knowledge

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplit(t *testing.T) {
	long := strings.Repeat("This sentence is about shipping times. ", 80)
	tests := []struct {
		name     string
		in       []Section
		wantMin  int
		wantMax  int
		headings []string
	}{
		{"empty", []Section{{Heading: "H", Text: " \n\n "}}, 0, 0, nil},
		{"short sections stay whole", []Section{{"Returns", "Return within 30 days."}, {"Shipping", "Ships in 2 days."}}, 2, 2, []string{"Returns", "Shipping"}},
		{"long paragraph is cut", []Section{{"Shipping", long}}, 3, 6, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Split(tt.in)
			if len(got) < tt.wantMin || len(got) > tt.wantMax {
				t.Fatalf("got %d chunks, want %d..%d", len(got), tt.wantMin, tt.wantMax)
			}
			for i, h := range tt.headings {
				if got[i].Heading != h {
					t.Errorf("chunk %d heading %q, want %q", i, got[i].Heading, h)
				}
			}
			for i, c := range got {
				if n := utf8.RuneCountInString(c.Text); n > ChunkTarget+ChunkOverlap+2 {
					t.Errorf("chunk %d has %d runes", i, n)
				}
			}
		})
	}
}

func TestSplitOverlapsAndKeepsEverything(t *testing.T) {
	var paras []string
	for i := range 30 {
		paras = append(paras, strings.Repeat("word ", 30)+"marker"+string(rune('A'+i%26))+".")
	}
	got := Split([]Section{{Heading: "H", Text: strings.Join(paras, "\n\n")}})
	all := ""
	for _, c := range got {
		all += c.Text + "\n"
	}
	for i := range 26 {
		if !strings.Contains(all, "marker"+string(rune('A'+i))) {
			t.Errorf("marker %c lost", 'A'+i)
		}
	}
	for i := 1; i < len(got); i++ {
		prevTail := tail(got[i-1].Text, 40)
		if !strings.Contains(got[i].Text, prevTail) {
			t.Errorf("chunk %d does not overlap the previous one", i)
		}
	}
}

func TestChunkIDsAreStable(t *testing.T) {
	a, b := New(uuidFor("x")), New(uuidFor("x"))
	if a.chunk(0, "", "text").ID != b.chunk(0, "", "text").ID {
		t.Error("same item, ordinal and text gave different chunk ids")
	}
	if a.chunk(0, "", "text").ID == a.chunk(1, "", "text").ID {
		t.Error("different ordinals share an id")
	}
}

func uuidFor(s string) [16]byte {
	var u [16]byte
	copy(u[:], s)
	return u
}
