package commands

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/organization"
)

// CreateOrganization starts a tenant with its first API client.
type CreateOrganization struct {
	ID         uuid.UUID
	Name       string
	ClientID   string
	SecretHash string
}

// Organizations handles organization commands.
type Organizations struct{ repo repo }

// NewOrganizations returns the organization command handlers.
func NewOrganizations(store EventStore, codec *event.Codec, now func() time.Time) *Organizations {
	return &Organizations{repo: newRepo(store, codec, now)}
}

func freshOrganization() aggregate { return &organization.Organization{} }

// Create runs CreateOrganization.
func (h *Organizations) Create(ctx context.Context, m Meta, c CreateOrganization) (Result, error) {
	m.OrganizationID = c.ID
	res, err := h.repo.execute(ctx, m, organization.Stream(c.ID), freshOrganization, func(a aggregate, _ bool) error {
		o := a.(*organization.Organization)
		if err := o.Create(c.Name); err != nil {
			return err
		}
		return o.IssueClient(c.ClientID, c.SecretHash)
	})
	res.ID = c.ID
	return res, err
}

// IssueClient adds an API client to organization m.OrganizationID.
func (h *Organizations) IssueClient(ctx context.Context, m Meta, clientID, secretHash string) (Result, error) {
	res, err := h.repo.execute(ctx, m, organization.Stream(m.OrganizationID), freshOrganization, func(a aggregate, exists bool) error {
		if !exists {
			return ErrNotFound
		}
		return a.(*organization.Organization).IssueClient(clientID, secretHash)
	})
	res.ID = m.OrganizationID
	return res, err
}

// RevokeClient disables an API client of organization m.OrganizationID.
func (h *Organizations) RevokeClient(ctx context.Context, m Meta, clientID string) (Result, error) {
	return h.repo.execute(ctx, m, organization.Stream(m.OrganizationID), freshOrganization, func(a aggregate, exists bool) error {
		if !exists {
			return ErrNotFound
		}
		return a.(*organization.Organization).RevokeClient(clientID)
	})
}
