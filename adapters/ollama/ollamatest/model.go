package ollamatest

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// The tiny model: a llama-architecture transformer small enough to load and
// run in milliseconds on a CPU, with random weights from a fixed seed, so
// every run of every machine serves the same (meaningless) text and the same
// embeddings. It proves plumbing, not answers.
const (
	modelSeed      = 20250601
	modelEmbd      = 64
	modelBlocks    = 2
	modelHeads     = 4
	modelHeadsKV   = 2 // grouped-query attention, like current llamas
	modelFF        = 128
	modelCtx       = 2048 // trained context; OLLAMA_CONTEXT_LENGTH picks the served one
	modelHeadDim   = modelEmbd / modelHeads
	modelRMSEps    = 1e-5
	modelRopeTheta = 10000
)

// Token types of llama.cpp's vocabulary (llama_token_type).
const (
	tokenNormal  int32 = 1
	tokenUnknown int32 = 2
	tokenControl int32 = 3
	tokenByte    int32 = 6
)

// vocabWords seeds the SentencePiece vocabulary: common English and Dutch
// words and the punctuation of support chats. Every prefix of every word is a
// piece too, because SPM tokenisation only reaches a piece by merging
// adjacent pieces already in the vocabulary.
var vocabWords = strings.Fields(`
	the and you your to of is it in for on with this that can how what
	help order account password reset refund shipping hello thanks please
	de het een en van ik je jij is niet wat hoe dat met voor op zijn
	bestelling wachtwoord hallo dank bedankt alstublieft graag vraag antwoord
`)

var vocabPunct = []string{".", ",", "?", "!", ":", "'", "-", "(", ")"}

// vocabulary returns the tokens, scores and types of an SPM ("llama")
// vocabulary: <unk>, <s>, </s>, the 256 byte-fallback tokens (llama.cpp
// looks up <0x0A> for newlines and aborts on bytes it cannot map), then
// letters, pieces and punctuation. Pieces are unique, as llama.cpp requires.
func vocabulary() (tokens []string, scores []float32, types []int32) {
	seen := map[string]bool{}
	add := func(piece string, typ int32) {
		if seen[piece] {
			return
		}
		seen[piece] = true
		tokens = append(tokens, piece)
		types = append(types, typ)
		// SPM merges the highest-scoring pair first; like real vocabularies,
		// earlier (more common) pieces score higher.
		scores = append(scores, -float32(len(scores)))
	}
	add("<unk>", tokenUnknown)
	add("<s>", tokenControl)
	add("</s>", tokenControl)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), tokenByte)
	}
	add("▁", tokenNormal)
	for c := 'a'; c <= 'z'; c++ {
		add(string(c), tokenNormal)
	}
	for _, w := range vocabWords {
		piece := []rune("▁" + w)
		for n := 2; n <= len(piece); n++ {
			add(string(piece[:n]), tokenNormal)
		}
	}
	for _, p := range vocabPunct {
		add(p, tokenNormal)
	}
	return tokens, scores, types
}

// tinyModel returns the GGUF bytes of the tiny model.
func tinyModel() ([]byte, error) {
	tokens, scores, types := vocabulary()
	nVocab := uint64(len(tokens))
	rng := rand.New(rand.NewPCG(modelSeed, modelSeed))

	var f ggufFile
	f.set("general.architecture", "llama")
	f.set("general.name", "companin-tiny")
	f.set("general.file_type", uint32(0)) // all F32
	f.set("llama.context_length", uint32(modelCtx))
	f.set("llama.embedding_length", uint32(modelEmbd))
	f.set("llama.block_count", uint32(modelBlocks))
	f.set("llama.feed_forward_length", uint32(modelFF))
	f.set("llama.attention.head_count", uint32(modelHeads))
	f.set("llama.attention.head_count_kv", uint32(modelHeadsKV))
	f.set("llama.rope.dimension_count", uint32(modelHeadDim))
	f.set("llama.rope.freq_base", float32(modelRopeTheta))
	f.set("llama.attention.layer_norm_rms_epsilon", float32(modelRMSEps))
	f.set("llama.vocab_size", uint32(nVocab))
	f.set("tokenizer.ggml.model", "llama")
	f.set("tokenizer.ggml.tokens", tokens)
	f.set("tokenizer.ggml.scores", scores)
	f.set("tokenizer.ggml.token_type", types)
	f.set("tokenizer.ggml.unknown_token_id", uint32(0))
	f.set("tokenizer.ggml.bos_token_id", uint32(1))
	f.set("tokenizer.ggml.eos_token_id", uint32(2))
	f.set("tokenizer.ggml.add_bos_token", true)
	f.set("tokenizer.ggml.add_eos_token", false)

	normal := func(n uint64, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * std)
		}
		return v
	}
	ones := func(n uint64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	const embd, ff, kv = modelEmbd, modelFF, modelHeadsKV * modelHeadDim
	proj := 1 / math.Sqrt(embd)

	f.tensor("token_embd.weight", normal(embd*nVocab, 1), embd, nVocab)
	f.tensor("output_norm.weight", ones(embd), embd)
	// Output rows are zero for control and byte tokens: their logit is then
	// exactly 0 while each word's is spread around it with a deviation of 4,
	// so they practically never win. A random model otherwise ends turns
	// early with </s> or streams lone bytes that are not valid UTF-8 and
	// that Ollama holds back, making deltas erratic.
	out := normal(embd*nVocab, 4*proj)
	for id, typ := range types {
		if typ != tokenNormal {
			clear(out[id*embd : (id+1)*embd])
		}
	}
	f.tensor("output.weight", out, embd, nVocab)
	for i := range modelBlocks {
		blk := func(name string) string { return fmt.Sprintf("blk.%d.%s.weight", i, name) }
		f.tensor(blk("attn_norm"), ones(embd), embd)
		f.tensor(blk("attn_q"), normal(embd*embd, proj), embd, embd)
		f.tensor(blk("attn_k"), normal(embd*kv, proj), embd, kv)
		f.tensor(blk("attn_v"), normal(embd*kv, proj), embd, kv)
		f.tensor(blk("attn_output"), normal(embd*embd, proj), embd, embd)
		f.tensor(blk("ffn_norm"), ones(embd), embd)
		f.tensor(blk("ffn_gate"), normal(embd*ff, proj), embd, ff)
		f.tensor(blk("ffn_up"), normal(embd*ff, proj), embd, ff)
		f.tensor(blk("ffn_down"), normal(ff*embd, 1/math.Sqrt(ff)), ff, embd)
	}

	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// chatTemplate renders a conversation for the tiny model (Ollama's Go
// template syntax). Any template works for a random model; this one keeps
// roles visible in the prompt, like real chat templates do.
const chatTemplate = `{{- range .Messages }}{{ .Role }}: {{ .Content }}
{{ end }}assistant: `
