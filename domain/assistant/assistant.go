// Package assistant holds the assistant aggregate: a persona an organization
// configures and customers talk to.
package assistant

import (
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/validation"
)

// Stream returns the stream id of assistant id.
func Stream(id uuid.UUID) string { return "assistant-" + id.String() }

var (
	ErrExists   = errors.New("assistant already exists")
	ErrDeleted  = errors.New("assistant is deleted")
	ErrInactive = errors.New("assistant is not active")
)

// Spec is the assistant's configurable persona.
type Spec struct {
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	Tone         string   `json:"tone"`
	Language     string   `json:"language"`
	DefaultTasks []string `json:"default_tasks"`
	IsActive     bool     `json:"is_active"`
}

// Patch changes some fields; nil leaves a field as it is.
type Patch struct {
	Name         *string   `json:"name,omitempty"`
	Description  *string   `json:"description,omitempty"`
	Tone         *string   `json:"tone,omitempty"`
	Language     *string   `json:"language,omitempty"`
	DefaultTasks *[]string `json:"default_tasks,omitempty"`
	IsActive     *bool     `json:"is_active,omitempty"`
}

// Created records a new assistant with its full spec.
type Created struct {
	Spec
}

// Updated records the full spec after a change, so readers need no history.
type Updated struct {
	Spec
}

// Deleted retires the assistant; its conversations stay readable.
type Deleted struct{}

func (Created) EventType() string { return "assistant.created" }
func (Updated) EventType() string { return "assistant.updated" }
func (Deleted) EventType() string { return "assistant.deleted" }

// Kinds lists this package's events for the codec.
func Kinds() []event.Kind {
	return []event.Kind{event.KindOf[Created](1), event.KindOf[Updated](1), event.KindOf[Deleted](1)}
}

// Assistant is the aggregate.
type Assistant struct {
	event.Recorder
	created bool
	deleted bool
	spec    Spec
}

// Apply folds an event into the state.
func (a *Assistant) Apply(p event.Payload) {
	switch e := p.(type) {
	case Created:
		a.created, a.spec = true, e.Spec
	case Updated:
		a.spec = e.Spec
	case Deleted:
		a.deleted = true
	}
}

func (a *Assistant) record(p event.Payload) { a.Apply(p); a.Record(p) }

// Exists reports whether the assistant was created and not deleted.
func (a *Assistant) Exists() bool { return a.created && !a.deleted }

// Spec returns the current persona.
func (a *Assistant) Spec() Spec { return a.spec }

// Create validates spec and records the assistant.
func (a *Assistant) Create(spec Spec) error {
	if a.created {
		return ErrExists
	}
	spec, err := validSpec(spec)
	if err != nil {
		return err
	}
	a.record(Created{Spec: spec})
	return nil
}

// Update applies patch; an update that changes nothing records nothing.
func (a *Assistant) Update(p Patch) error {
	if a.deleted {
		return ErrDeleted
	}
	next := a.spec
	if p.Name != nil {
		next.Name = *p.Name
	}
	if p.Description != nil {
		next.Description = *p.Description
	}
	if p.Tone != nil {
		next.Tone = *p.Tone
	}
	if p.Language != nil {
		next.Language = *p.Language
	}
	if p.DefaultTasks != nil {
		next.DefaultTasks = *p.DefaultTasks
	}
	if p.IsActive != nil {
		next.IsActive = *p.IsActive
	}
	next, err := validSpec(next)
	if err != nil {
		return err
	}
	if equal(next, a.spec) {
		return nil
	}
	a.record(Updated{Spec: next})
	return nil
}

// Delete retires the assistant; deleting twice is a no-op.
func (a *Assistant) Delete() {
	if !a.deleted {
		a.record(Deleted{})
	}
}

// AcceptsConversations reports why no new session or conversation may start.
func (a *Assistant) AcceptsConversations() error {
	switch {
	case a.deleted:
		return ErrDeleted
	case !a.spec.IsActive:
		return ErrInactive
	}
	return nil
}

func validSpec(s Spec) (Spec, error) {
	var c validation.Checker
	s.Name = c.Text("name", s.Name, true, 200)
	s.Description = c.Text("description", s.Description, false, 2000)
	s.Tone = c.Text("tone", s.Tone, false, 50)
	s.Language = c.Locale("language", s.Language)
	if s.DefaultTasks == nil {
		s.DefaultTasks = []string{}
	}
	s.DefaultTasks = c.List("default_tasks", s.DefaultTasks, 20, 100)
	return s, c.Err()
}

func equal(a, b Spec) bool {
	return a.Name == b.Name && a.Description == b.Description && a.Tone == b.Tone &&
		a.Language == b.Language && a.IsActive == b.IsActive && slices.Equal(a.DefaultTasks, b.DefaultTasks)
}
