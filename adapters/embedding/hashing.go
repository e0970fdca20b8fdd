// Package embedding holds the built-in embedder: feature hashing of words,
// word pairs and character n-grams into a fixed-size vector. It needs no
// model, is deterministic, and copes with inflections, compounds and typos
// through the n-grams, which is what the default install needs; Ollama
// embeddings replace it when configured.
package embedding

import (
	"context"
	"math"
	"strings"
	"unicode"
)

// Dims is the size of hashing vectors. Hashing folds every feature of a
// passage into these dimensions, and colliding features blur each other:
// on the retrieval benchmarks (companin eval) 384 dimensions lost about a
// fifth of hit@1 to 1024, while 2048 gained little more for twice the memory
// and scan time of the in-process index.
const Dims = 1024

// Feature weights, measured with companin eval: character n-grams carry
// as much as whole words, because paraphrases and typos share n-grams far
// more often than words.
const (
	wordWeight = 1.0
	pairWeight = 0.5
	gramWeight = 0.5
	minGram    = 3
	maxGram    = 4
)

// Hashing is the built-in embedder. The zero value is ready to use.
type Hashing struct{}

// Model names the embedding space; change it whenever the features change,
// so cached vectors of the old space are never mixed with new ones.
func (Hashing) Model() string { return "companin-hash-v2" }

// Embed returns one L2-normalised vector per text.
func (h Hashing) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = Vector(t)
	}
	return out, nil
}

// Vector embeds one text. Each feature's weight is damped by log(1+tf), so
// a word a long passage repeats does not drown the words a question asks
// about.
func Vector(text string) []float32 {
	words := tokens(text)
	feats := make(map[uint64]float64, 8*len(words))
	var starts []int
	for i, w := range words {
		if stop[w] {
			continue
		}
		feats[hash('w', w, "")] += wordWeight
		if i+1 < len(words) && !stop[words[i+1]] {
			feats[hash('b', w, words[i+1])] += pairWeight
		}
		// Character n-grams of the word between boundary marks, by rune.
		s := "<" + w + ">"
		starts = starts[:0]
		for j := range s {
			starts = append(starts, j)
		}
		starts = append(starts, len(s))
		runes := len(starts) - 1
		for n := minGram; n <= maxGram; n++ {
			for j := 0; j+n <= runes; j++ {
				feats[hash('c', s[starts[j]:starts[j+n]], "")] += gramWeight
			}
		}
	}
	v := make([]float32, Dims)
	for f, x := range feats {
		x = math.Log1p(x)
		// The top bit gives the sign, so collisions cancel out on average
		// instead of piling up.
		if f&(1<<63) != 0 {
			x = -x
		}
		v[f%Dims] += float32(x)
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

// tokens splits lower-cased text into words of letters and digits; an
// apostrophe inside a word keeps it whole ("don't", "king's").
func tokens(text string) []string {
	f := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	})
	out := f[:0]
	for _, w := range f {
		w = strings.ReplaceAll(w, "’", "'")
		if w = strings.Trim(w, "'"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// hash is 64-bit FNV-1a of a kind byte and the feature's text, without
// building the feature string.
func hash(kind byte, a, b string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	h = (h ^ uint64(kind)) * prime
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	if b != "" {
		h = (h ^ ' ') * prime
		for i := 0; i < len(b); i++ {
			h = (h ^ uint64(b[i])) * prime
		}
	}
	return h
}

// stop lists frequent English and Dutch function words, and the filler of
// questions ("is it possible", "is there a way", "graag"), which say
// nothing about what a question is about.
var stop = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the and or but if of to in on at by for with from as is are was were be been
		am do does did have has had i you he she it we they me my your our their this that these those what which who
		whom how when where why can could would should will shall may might must not no so than too very just about
		possible way want like get please there any some anyone someone something also only need know go make use
		using used one all more other into out up its it's i'm i'd i've don't can't doesn't there's
		de het een en of maar als van te in op aan bij voor met uit is zijn was waren ben bent wordt worden heb hebt
		heeft hebben ik je jij u hij zij ze wij we mijn jouw uw onze hun dit dat deze die wat welke wie hoe wanneer waar
		waarom kan kunnen zou zouden moet moeten wil willen mag niet geen zo dan te ook er om naar
		mogelijk manier graag even nog wel al alleen iets iemand mij me jullie jou zich hier daar paar kun kunt
		doe doen gaan gaat`) {
		m[w] = true
	}
	return m
}()
