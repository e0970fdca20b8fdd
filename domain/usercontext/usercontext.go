// Package usercontext holds what an organization tells us about one of its
// customers (traits such as name, plan, preferences), keyed by the
// organization's own user reference.
package usercontext

import (
	"errors"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/validation"
)

// MaxTraits is the size budget of a context's traits as JSON.
const MaxTraits = 32768

var (
	ErrExists = errors.New("user context already exists")
	ErrErased = errors.New("user context was erased")
)

// namespace derives context ids from (organization, reference), so the same
// reference always maps to the same stream without a lookup table.
var namespace = uuid.MustParse("5b0f3c8e-2a3e-4e55-9a53-2f1f8d6c7a10")

// ID returns the id of organization org's context for reference ref.
func ID(org uuid.UUID, ref string) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte(org.String()+"\x00"+ref))
}

// Stream returns the stream id of context id.
func Stream(id uuid.UUID) string { return "usercontext-" + id.String() }

// Created records a new context.
type Created struct {
	UserReference string         `json:"user_reference"`
	Traits        map[string]any `json:"traits"`
}

// Updated records the full traits after a change.
type Updated struct {
	Traits map[string]any `json:"traits"`
}

// Erased forgets the context; the reference may be created again.
type Erased struct{}

func (Created) EventType() string { return "usercontext.created" }
func (Updated) EventType() string { return "usercontext.updated" }
func (Erased) EventType() string  { return "usercontext.erased" }

// Kinds lists this package's events for the codec.
func Kinds() []event.Kind {
	return []event.Kind{event.KindOf[Created](1), event.KindOf[Updated](1), event.KindOf[Erased](1)}
}

// Context is the aggregate.
type Context struct {
	event.Recorder
	live   bool
	ref    string
	traits map[string]any
}

// Apply folds an event into the state.
func (c *Context) Apply(p event.Payload) {
	switch e := p.(type) {
	case Created:
		c.live, c.ref, c.traits = true, e.UserReference, e.Traits
	case Updated:
		c.traits = e.Traits
	case Erased:
		c.live, c.traits = false, nil
	}
}

func (c *Context) record(p event.Payload) { c.Apply(p); c.Record(p) }

// Exists reports whether the context is live (created and not erased).
func (c *Context) Exists() bool { return c.live }

// Traits returns the current traits.
func (c *Context) Traits() map[string]any { return c.traits }

// Create records a context for ref.
func (c *Context) Create(ref string, traits map[string]any) error {
	if c.live {
		return ErrExists
	}
	var v validation.Checker
	ref = v.Text("user_reference", ref, true, 200)
	v.Object("traits", traits, MaxTraits)
	if err := v.Err(); err != nil {
		return err
	}
	if traits == nil {
		traits = map[string]any{}
	}
	c.record(Created{UserReference: ref, Traits: traits})
	return nil
}

// Merge applies a JSON merge patch (RFC 7386) to the traits: keys set to
// null are removed, objects merge recursively.
func (c *Context) Merge(patch map[string]any) error {
	if !c.live {
		return ErrErased
	}
	next := mergePatch(clone(c.traits), patch)
	var v validation.Checker
	v.Object("traits", next, MaxTraits)
	if err := v.Err(); err != nil {
		return err
	}
	c.record(Updated{Traits: next})
	return nil
}

// Erase forgets the context.
func (c *Context) Erase() error {
	if !c.live {
		return ErrErased
	}
	c.record(Erased{})
	return nil
}

func mergePatch(target, patch map[string]any) map[string]any {
	if target == nil {
		target = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(target, k)
		case map[string]any:
			tv, _ := target[k].(map[string]any)
			target[k] = mergePatch(clone(tv), pv)
		default:
			target[k] = v
		}
	}
	return target
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
