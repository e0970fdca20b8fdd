// Package organization holds the tenant aggregate: an organization and the
// API clients that act for it.
package organization

import (
	"errors"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/validation"
)

// Stream returns the stream id of organization id.
func Stream(id uuid.UUID) string { return "organization-" + id.String() }

var (
	ErrExists        = errors.New("organization already exists")
	ErrUnknownClient = errors.New("unknown api client")
)

// Created is recorded once per organization.
type Created struct {
	Name string `json:"name"`
}

// ClientIssued records a new API client. Only a hash of its secret is kept.
type ClientIssued struct {
	ClientID   string `json:"client_id"`
	SecretHash string `json:"secret_hash"`
}

// ClientRevoked disables a client for good.
type ClientRevoked struct {
	ClientID string `json:"client_id"`
}

func (Created) EventType() string       { return "organization.created" }
func (ClientIssued) EventType() string  { return "organization.api_client_issued" }
func (ClientRevoked) EventType() string { return "organization.api_client_revoked" }

// Kinds lists this package's events for the codec.
func Kinds() []event.Kind {
	return []event.Kind{
		event.KindOf[Created](1), event.KindOf[ClientIssued](1), event.KindOf[ClientRevoked](1),
	}
}

// Organization is the tenant aggregate.
type Organization struct {
	event.Recorder
	created bool
	name    string
	clients map[string]bool // client id -> active
}

// Apply folds a stored or new event into the state.
func (o *Organization) Apply(p event.Payload) {
	switch e := p.(type) {
	case Created:
		o.created, o.name = true, e.Name
	case ClientIssued:
		if o.clients == nil {
			o.clients = map[string]bool{}
		}
		o.clients[e.ClientID] = true
	case ClientRevoked:
		o.clients[e.ClientID] = false
	}
}

func (o *Organization) record(p event.Payload) { o.Apply(p); o.Record(p) }

// Exists reports whether the organization was created.
func (o *Organization) Exists() bool { return o.created }

// Create starts the organization.
func (o *Organization) Create(name string) error {
	if o.created {
		return ErrExists
	}
	var c validation.Checker
	name = c.Text("name", name, true, 200)
	if err := c.Err(); err != nil {
		return err
	}
	o.record(Created{Name: name})
	return nil
}

// IssueClient adds an API client with the given id and secret hash.
func (o *Organization) IssueClient(clientID, secretHash string) error {
	var c validation.Checker
	c.Check(clientID != "", "client_id", "is required")
	c.Check(len(secretHash) == 64, "secret_hash", "must be a hex SHA-256")
	if err := c.Err(); err != nil {
		return err
	}
	o.record(ClientIssued{ClientID: clientID, SecretHash: secretHash})
	return nil
}

// RevokeClient disables a client; revoking twice is a no-op.
func (o *Organization) RevokeClient(clientID string) error {
	active, ok := o.clients[clientID]
	if !ok {
		return ErrUnknownClient
	}
	if active {
		o.record(ClientRevoked{ClientID: clientID})
	}
	return nil
}
