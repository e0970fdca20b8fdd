package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/companin/companin/adapters/eventstore/pgstore"
	"github.com/companin/companin/adapters/httpapi"
	"github.com/companin/companin/commands"
	"github.com/companin/companin/projections"
)

// runOrg implements `companin org create --name NAME`: it creates an
// organization with one API client and prints the credentials once, as JSON.
func runOrg(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: companin org create --name NAME")
	}
	fs := flag.NewFlagSet("org create", flag.ContinueOnError)
	name := fs.String("name", "", "organization name (required)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("org create: --name is required")
	}
	pool, stop, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()

	clientID := "ck_" + randomHex(12)
	secret := "cs_" + randomToken(32)
	codec := newCodec()
	store := pgstore.New(pool)
	defer store.Close()
	id := uuid.New()
	res, err := commands.NewOrganizations(store, codec, nil).Create(ctx, commands.Meta{Actor: "cli"},
		commands.CreateOrganization{ID: id, Name: *name, ClientID: clientID, SecretHash: httpapi.HashSecret(secret)})
	if err != nil {
		return fmt.Errorf("org create: %w", err)
	}
	// Bring the accounts read model up to date now, so the credentials work
	// at once even when no server is running yet. Safe alongside a running
	// server: the projection is checkpointed and applies each event once.
	if err := projections.CatchUp(ctx, store, projections.ByName(pool, codec, projections.Accounts), res.Position); err != nil {
		return fmt.Errorf("org create: activate credentials: %w", err)
	}
	out := map[string]string{
		"organization_id": id.String(), "name": *name, "client_id": clientID, "client_secret": secret,
		"note": "store the client_secret now: it is shown only once",
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
