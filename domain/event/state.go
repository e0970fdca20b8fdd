package event

import "fmt"

// StreamState is what an append expects of the stream. It is a closed set:
// Any, NoStream, StreamExists or Exact(v).
type StreamState interface {
	// Check reports whether a stream currently at version current (0: absent)
	// satisfies the expectation.
	Check(current int64) bool
	String() string
	streamState()
}

type anyState struct{}
type noStream struct{}
type streamExists struct{}
type exact int64

// Any accepts the stream in whatever state it is.
func Any() StreamState { return anyState{} }

// NoStream requires the stream not to exist yet.
func NoStream() StreamState { return noStream{} }

// StreamExists requires at least one event in the stream.
func StreamExists() StreamState { return streamExists{} }

// Exact requires the stream to be at version v (0 means empty).
func Exact(v int64) StreamState { return exact(v) }

func (anyState) Check(int64) bool       { return true }
func (noStream) Check(c int64) bool     { return c == 0 }
func (streamExists) Check(c int64) bool { return c > 0 }
func (e exact) Check(c int64) bool      { return int64(e) == c }
func (anyState) String() string         { return "any" }
func (noStream) String() string         { return "no stream" }
func (streamExists) String() string     { return "stream exists" }
func (e exact) String() string          { return fmt.Sprintf("version %d", int64(e)) }
func (anyState) streamState()           {}
func (noStream) streamState()           {}
func (streamExists) streamState()       {}
func (exact) streamState()              {}

// ExactVersion returns v and true when s is Exact(v).
func ExactVersion(s StreamState) (int64, bool) {
	e, ok := s.(exact)
	return int64(e), ok
}

// IsAny reports whether s accepts any stream state, so an append may retry
// at the next version after losing a race instead of reporting a conflict.
func IsAny(s StreamState) bool {
	_, ok := s.(anyState)
	return ok
}
