package httpapi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Token settings. The algorithm is pinned: a token naming another one (or
// "none") is refused before its signature is looked at.
const (
	tokenIssuer   = "companin"
	tokenAudience = "companin-widget"
	tokenTTL      = time.Hour
)

// WidgetClaims are the claims of a widget token. The subject is the client
// id; jti is unique per token.
type WidgetClaims struct {
	OrganizationID uuid.UUID `json:"org"`
	Scope          string    `json:"scope"`
	// AssistantID, when set, is the only assistant the token may start
	// sessions with; ConfigID the only widget config it may read.
	AssistantID *uuid.UUID `json:"assistant,omitempty"`
	ConfigID    *uuid.UUID `json:"config,omitempty"`
	// Origin is the page origin the token was minted for ("" when the
	// request had none); a browser request from another origin is refused.
	Origin string `json:"origin,omitempty"`
	// Visitor binds the token to the sessions it may use: a session started
	// with the token records it, and only tokens with the same binding may
	// use that session (see visitorBinding).
	Visitor string `json:"visitor"`
	jwt.RegisteredClaims
}

// Grant is what a new widget token allows.
type Grant struct {
	ClientID       string
	OrganizationID uuid.UUID
	AssistantID    *uuid.UUID
	ConfigID       *uuid.UUID
	Origin         string
	Visitor        string
}

// Tokens mints and verifies widget tokens with HMAC keys kept in
// PostgreSQL, so every API process signs and verifies alike.
type Tokens struct {
	pool *pgxpool.Pool
	now  func() time.Time

	mu   sync.RWMutex
	keys map[string][]byte
	kid  string
}

// NewTokens returns the token service; call Init before use.
func NewTokens(pool *pgxpool.Pool, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{pool: pool, now: now, keys: map[string][]byte{}}
}

// Init loads the signing keys, creating the first one if there is none.
func (t *Tokens) Init(ctx context.Context) error {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	if _, err := t.pool.Exec(ctx, `INSERT INTO signing_keys (kid, secret)
		SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)`, uuid.NewString()[:8], secret); err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	return t.reload(ctx)
}

func (t *Tokens) reload(ctx context.Context) error {
	rows, err := t.pool.Query(ctx, `SELECT kid, secret FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	defer rows.Close()
	keys := map[string][]byte{}
	kid := ""
	for rows.Next() {
		var k string
		var s []byte
		if err := rows.Scan(&k, &s); err != nil {
			return err
		}
		keys[k], kid = s, k
	}
	if err := rows.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	t.keys, t.kid = keys, kid
	t.mu.Unlock()
	return nil
}

// Mint returns a signed widget token for g.
func (t *Tokens) Mint(g Grant) (string, time.Duration, error) {
	t.mu.RLock()
	kid, key := t.kid, t.keys[t.kid]
	t.mu.RUnlock()
	if key == nil {
		return "", 0, errors.New("no signing key")
	}
	now := t.now()
	if g.Visitor == "" {
		return "", 0, errors.New("mint: no visitor binding")
	}
	claims := WidgetClaims{
		OrganizationID: g.OrganizationID, Scope: "widget",
		AssistantID: g.AssistantID, ConfigID: g.ConfigID, Origin: g.Origin, Visitor: g.Visitor,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Audience: jwt.ClaimStrings{tokenAudience}, Subject: g.ClientID,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(tokenTTL)), ID: uuid.NewString(),
		},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	return s, tokenTTL, err
}

// Verify checks signature, algorithm, issuer, audience, expiry and scope.
func (t *Tokens) Verify(ctx context.Context, raw string) (*WidgetClaims, error) {
	claims := &WidgetClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		t.mu.RLock()
		key := t.keys[kid]
		t.mu.RUnlock()
		if key == nil {
			// Another process may have rotated keys since we loaded them.
			if err := t.reload(ctx); err != nil {
				return nil, err
			}
			t.mu.RLock()
			key = t.keys[kid]
			t.mu.RUnlock()
		}
		if key == nil {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return key, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer), jwt.WithAudience(tokenAudience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(t.now), jwt.WithLeeway(5*time.Second))
	if err != nil {
		return nil, err
	}
	if claims.Scope != "widget" || claims.OrganizationID == uuid.Nil || claims.Subject == "" ||
		claims.Visitor == "" || claims.ID == "" {
		return nil, errors.New("token lacks widget scope")
	}
	return claims, nil
}
