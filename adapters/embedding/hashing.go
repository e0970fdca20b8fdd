// Package embedding holds the built-in embedder: feature hashing of words,
// word pairs and character n-grams into a fixed-size vector. It needs no
// model, is deterministic, and copes with inflections and typos through the
// n-grams, which is what the default install needs; Ollama embeddings
// replace it when configured.
package embedding

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// Dims is the size of hashing vectors.
const Dims = 384

// Hashing is the built-in embedder. The zero value is ready to use.
type Hashing struct{}

// Model names the embedding space; change it whenever the features change,
// so cached vectors of the old space are never mixed with new ones.
func (Hashing) Model() string { return "companin-hash-v1" }

// Embed returns one L2-normalised vector per text.
func (h Hashing) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = Vector(t)
	}
	return out, nil
}

// Vector embeds one text.
func Vector(text string) []float32 {
	v := make([]float32, Dims)
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for i, w := range words {
		if stop[w] {
			continue
		}
		add(v, "w:"+w, 1.0)
		if i+1 < len(words) && !stop[words[i+1]] {
			add(v, "b:"+w+" "+words[i+1], 0.5)
		}
		r := []rune("<" + w + ">")
		for n := 3; n <= 4; n++ {
			for j := 0; j+n <= len(r); j++ {
				add(v, "c:"+string(r[j:j+n]), 0.25)
			}
		}
	}
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for i := range v {
			v[i] *= inv
		}
	}
	return v
}

// add hashes feature f into v with a sign from the hash, so collisions
// cancel out on average instead of piling up.
func add(v []float32, f string, weight float32) {
	h := fnv.New64a()
	h.Write([]byte(f))
	s := h.Sum64()
	idx := s % Dims
	if s&(1<<63) != 0 {
		weight = -weight
	}
	v[idx] += weight
}

// stop lists frequent English and Dutch function words, which say nothing
// about what a question is about.
var stop = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the and or but if of to in on at by for with from as is are was were be been
		am do does did have has had i you he she it we they me my your our their this that these those what which who
		whom how when where why can could would should will shall may might must not no so than too very just about
		de het een en of maar als van te in op aan bij voor met uit is zijn was waren ben bent wordt worden heb hebt
		heeft hebben ik je jij u hij zij ze wij we mijn jouw uw onze hun dit dat deze die wat welke wie hoe wanneer waar
		waarom kan kunnen zou zouden moet moeten wil willen mag niet geen zo dan te ook er om naar`) {
		m[w] = true
	}
	return m
}()
