package ollamatest

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestVocabulary(t *testing.T) {
	tokens, scores, types := vocabulary()
	if len(tokens) < 300 || len(tokens) > 1000 {
		t.Errorf("got %d tokens, want a few hundred", len(tokens))
	}
	if len(scores) != len(tokens) || len(types) != len(tokens) {
		t.Fatalf("got %d tokens, %d scores, %d types; want equal counts", len(tokens), len(scores), len(types))
	}
	seen := map[string]bool{}
	for _, tok := range tokens {
		if seen[tok] {
			t.Errorf("token %q appears twice", tok)
		}
		seen[tok] = true
	}
	for _, want := range []string{"<unk>", "<s>", "</s>", "<0x0A>", "<0xFF>", "▁password", "▁wachtwoord"} {
		if !seen[want] {
			t.Errorf("vocabulary lacks %q", want)
		}
	}
	if tokens[1] != "<s>" || tokens[2] != "</s>" {
		t.Errorf("tokens 1 and 2 = %q, %q; want <s> and </s> (bos and eos ids)", tokens[1], tokens[2])
	}
}

func TestTinyModelIsDeterministicGGUF(t *testing.T) {
	a, err := tinyModel()
	if err != nil {
		t.Fatal(err)
	}
	b, err := tinyModel()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two builds of the tiny model differ")
	}
	if string(a[:4]) != "GGUF" || binary.LittleEndian.Uint32(a[4:]) != 3 {
		t.Errorf("header = %q, want GGUF version 3", a[:8])
	}
	if len(a)%ggufAlignment != 0 {
		t.Errorf("size %d is not a multiple of the alignment %d", len(a), ggufAlignment)
	}
	if tensors := binary.LittleEndian.Uint64(a[8:]); tensors != 3+9*modelBlocks {
		t.Errorf("%d tensors, want %d", tensors, 3+9*modelBlocks)
	}
}
