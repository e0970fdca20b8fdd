package migrations

import (
	"crypto/sha256"
	"hash"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3/lock"
)

func newHash() hash.Hash { return sha256.New() }

func pgxConfig(url string) (*pgx.ConnConfig, error) {
	return pgx.ParseConfig(url)
}

// mustLocker returns a Postgres advisory-lock locker so two processes starting
// at once (two API replicas, two test packages) never migrate concurrently.
func mustLocker() lock.SessionLocker {
	l, err := lock.NewPostgresSessionLocker()
	if err != nil {
		panic(err) // only fails on invalid static options
	}
	return l
}
