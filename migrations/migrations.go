// Package migrations holds the SQL schema and applies it with goose.
//
// goose is used rather than hand-written bookkeeping because it already solves
// ordering, locking against concurrent migrators and partial failure.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed *.sql
var files embed.FS

// Up applies every pending migration to the database at url.
func Up(ctx context.Context, url string) error {
	cfg, err := pgxConfig(url)
	if err != nil {
		return err
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	return UpDB(ctx, db)
}

// UpDB applies every pending migration using an open database handle.
func UpDB(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db, files,
		goose.WithSessionLocker(mustLocker()))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: up: %w", err)
	}
	return nil
}

// Fingerprint identifies the schema the embedded migrations produce, so test
// harnesses can key template databases on it.
func Fingerprint() string {
	entries, _ := files.ReadDir(".")
	h := newHash()
	for _, e := range entries {
		b, _ := files.ReadFile(e.Name())
		h.Write([]byte(e.Name()))
		h.Write(b)
	}
	return fmt.Sprintf("%x", h.Sum(nil))[:12]
}
