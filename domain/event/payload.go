package event

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Payload is the body of a domain event. EventType is its stable stored
// name: it never derives from the Go type, so renaming a struct cannot orphan
// stored events.
type Payload interface {
	EventType() string
}

// Kind registers one event type with its payload's Go type and schema version.
type Kind struct {
	Name   string
	Schema int
	New    func() any // returns a pointer to a zero payload
}

// KindOf builds a Kind from a zero payload value.
func KindOf[P Payload](schema int) Kind {
	var zero P
	return Kind{Name: zero.EventType(), Schema: schema, New: func() any { return new(P) }}
}

// Codec turns payloads into stored data and back. It is built explicitly from
// the kinds each domain package lists; there is no global registry.
type Codec struct {
	kinds map[string]Kind
}

// NewCodec returns a codec for kinds; a duplicate name panics, as it is a
// programming error caught by any test that builds the codec.
func NewCodec(kinds ...[]Kind) *Codec {
	c := &Codec{kinds: map[string]Kind{}}
	for _, list := range kinds {
		for _, k := range list {
			if _, dup := c.kinds[k.Name]; dup {
				panic("event: duplicate kind " + k.Name)
			}
			c.kinds[k.Name] = k
		}
	}
	return c
}

// Encode returns the stored name, schema version and JSON body of p.
func (c *Codec) Encode(p Payload) (string, int, json.RawMessage, error) {
	k, ok := c.kinds[p.EventType()]
	if !ok {
		return "", 0, nil, fmt.Errorf("encode %s: unknown event kind", p.EventType())
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", 0, nil, fmt.Errorf("encode %s: %w", k.Name, err)
	}
	return k.Name, k.Schema, b, nil
}

// Decode returns the payload of e as a value of its registered type
// (not a pointer), so callers switch on the payload types directly.
func (c *Codec) Decode(e Event) (Payload, error) {
	k, ok := c.kinds[e.Type]
	if !ok {
		return nil, fmt.Errorf("decode %s: %w", e.Type, ErrUnknownKind)
	}
	p := k.New()
	if err := json.Unmarshal(e.Data, p); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err)
	}
	return reflect.ValueOf(p).Elem().Interface().(Payload), nil
}

// Known reports whether the codec knows the event type.
func (c *Codec) Known(typ string) bool {
	_, ok := c.kinds[typ]
	return ok
}
