// Package blobstore keeps uploaded files in PostgreSQL, addressed by the
// SHA-256 of their bytes: the same file uploaded twice is stored once, and
// knowledge events can name bytes that never change.
package blobstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned for a hash that is not stored.
var ErrNotFound = errors.New("blob not found")

// Store is the blob store.
type Store struct{ pool *pgxpool.Pool }

// New returns a store over pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Put stores data and returns its hex SHA-256.
func (s *Store) Put(ctx context.Context, data []byte, contentType string) (string, error) {
	sum := sha256.Sum256(data)
	key := hex.EncodeToString(sum[:])
	_, err := s.pool.Exec(ctx, `INSERT INTO blobs (sha256, content_type, size, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (sha256) DO NOTHING`, key, contentType, len(data), data)
	if err != nil {
		return "", fmt.Errorf("store blob: %w", err)
	}
	return key, nil
}

// Get returns the bytes stored under key.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM blobs WHERE sha256 = $1`, key).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", key, err)
	}
	return data, nil
}
