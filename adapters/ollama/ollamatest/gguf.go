package ollamatest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// A minimal writer of GGUF v3 files, the model format of llama.cpp and
// Ollama (spec: github.com/ggml-org/ggml, docs/gguf.md). It writes only what
// the tiny test model needs: scalar, string and array metadata, and float32
// tensors.
//
// Layout, all little-endian:
//
//	magic "GGUF" | version u32 = 3 | tensor count u64 | metadata count u64
//	metadata:    key string | value type u32 | value
//	tensor info: name string | n_dims u32 | dims u64... (innermost first) |
//	             ggml type u32 (0 = F32) | offset u64 (into the data section)
//	padding to the alignment, then the data section: each tensor's bytes at
//	its offset, every offset a multiple of the alignment (general.alignment,
//	32 by default)
//
// A string is a u64 byte length and the bytes; an array is the element type
// u32, the count u64 and the elements.
//
// Hazard: readers are strict about value types. Ollama's Go reader
// type-asserts them (a u64 where it expects u32, or f64 for f32, panics or
// silently reads zero) and llama.cpp rejects mismatches, so each key must be
// written with the type the llama.cpp key table gives it: counts and lengths
// as u32, epsilons and frequencies as f32, token types as i32.

const ggufAlignment = 32

// GGUF metadata value types.
const (
	ggufUint32  uint32 = 4
	ggufInt32   uint32 = 5
	ggufFloat32 uint32 = 6
	ggufBool    uint32 = 7
	ggufString  uint32 = 8
	ggufArray   uint32 = 9
)

const ggmlTypeF32 uint32 = 0

type ggufKV struct {
	key   string
	value any // uint32, int32, float32, bool, string, []string, []float32, []int32
}

type ggufTensor struct {
	name string
	dims []uint64 // innermost first, as ggml's ne[]
	data []float32
}

type ggufFile struct {
	kvs     []ggufKV
	tensors []ggufTensor
}

func (f *ggufFile) set(key string, value any) {
	f.kvs = append(f.kvs, ggufKV{key, value})
}

func (f *ggufFile) tensor(name string, data []float32, dims ...uint64) {
	n := uint64(1)
	for _, d := range dims {
		n *= d
	}
	if n != uint64(len(data)) {
		panic(fmt.Sprintf("gguf: tensor %s: %d values for dims %v", name, len(data), dims))
	}
	f.tensors = append(f.tensors, ggufTensor{name, dims, data})
}

// WriteTo writes the file; it fails only if w fails or a value has a type
// the writer does not know.
func (f *ggufFile) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	put := func(v any) { binary.Write(&b, binary.LittleEndian, v) } // cannot fail on a Buffer
	putString := func(s string) {
		put(uint64(len(s)))
		b.WriteString(s)
	}

	b.WriteString("GGUF")
	put(uint32(3))
	put(uint64(len(f.tensors)))
	put(uint64(len(f.kvs)))

	for _, kv := range f.kvs {
		putString(kv.key)
		switch v := kv.value.(type) {
		case uint32:
			put(ggufUint32)
			put(v)
		case int32:
			put(ggufInt32)
			put(v)
		case float32:
			put(ggufFloat32)
			put(v)
		case bool:
			put(ggufBool)
			put(v)
		case string:
			put(ggufString)
			putString(v)
		case []string:
			put(ggufArray)
			put(ggufString)
			put(uint64(len(v)))
			for _, s := range v {
				putString(s)
			}
		case []float32:
			put(ggufArray)
			put(ggufFloat32)
			put(uint64(len(v)))
			put(v)
		case []int32:
			put(ggufArray)
			put(ggufInt32)
			put(uint64(len(v)))
			put(v)
		default:
			return 0, fmt.Errorf("gguf: key %s: unsupported value type %T", kv.key, kv.value)
		}
	}

	var offset uint64
	for _, t := range f.tensors {
		putString(t.name)
		put(uint32(len(t.dims)))
		put(t.dims)
		put(ggmlTypeF32)
		put(offset)
		offset += align(uint64(len(t.data)) * 4)
	}

	pad := func() { b.Write(make([]byte, align(uint64(b.Len()))-uint64(b.Len()))) }
	pad()
	for _, t := range f.tensors {
		for _, x := range t.data {
			put(math.Float32bits(x))
		}
		pad()
	}
	return b.WriteTo(w)
}

func align(n uint64) uint64 {
	return (n + ggufAlignment - 1) / ggufAlignment * ggufAlignment
}
