package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/companin/companin/domain/widgetconfig"
	"github.com/companin/companin/projections"
)

// principal is who is calling.
type principal struct {
	OrganizationID uuid.UUID
	ClientID       string
	Widget         bool // a widget token: widget scope only
	TokenID        string
	// Of a widget token only: what it is bound to (see WidgetClaims).
	AssistantID *uuid.UUID
	ConfigID    *uuid.UUID
	Visitor     string
}

const principalKey = "principal"

func principalOf(c echo.Context) principal {
	p, _ := c.Get(principalKey).(principal)
	return p
}

// Clients looks up API clients.
type Clients interface {
	Client(ctx context.Context, clientID string) (projections.Client, error)
}

// HashSecret is how client secrets are stored: they are 256-bit random
// values, so a plain SHA-256 is as strong as a slow hash here and keeps
// authentication to one lookup.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// dummyHash is compared against when the client id is unknown, so unknown
// ids and wrong secrets take the same time and answer the same 401.
var dummyHash = HashSecret("no such client")

const authErrKey = "auth_error"

// authenticate resolves the caller from API key headers or a Bearer token.
// A failure is kept for requireAuth, so the rate limiter in between still
// counts (by address) and labels the refused request.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.resolve(c); err != nil {
			c.Set(authErrKey, err)
		}
		return next(c)
	}
}

// requireAuth refuses requests authenticate could not resolve.
func requireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err, _ := c.Get(authErrKey).(error); err != nil {
			return err
		}
		return next(c)
	}
}

func (s *Server) resolve(c echo.Context) error {
	{
		req := c.Request()
		key, secret := req.Header.Get("X-API-Key"), req.Header.Get("X-API-Secret")
		switch {
		case key != "" || secret != "":
			p, err := s.checkAPIKey(req.Context(), key, secret)
			if err != nil {
				return err
			}
			c.Set(principalKey, p)
		case strings.HasPrefix(req.Header.Get(echo.HeaderAuthorization), "Bearer "):
			raw := strings.TrimPrefix(req.Header.Get(echo.HeaderAuthorization), "Bearer ")
			claims, err := s.tokens.Verify(req.Context(), strings.TrimSpace(raw))
			if err != nil {
				return &apiError{code: errBadToken.code, detail: errBadToken.detail, err: err}
			}
			// Revoking the client stops its widget tokens at once.
			cl, err := s.clients.Client(req.Context(), claims.Subject)
			if errors.Is(err, projections.ErrNotFound) || (err == nil && (cl.Revoked || cl.OrganizationID != claims.OrganizationID)) {
				return errBadToken
			}
			if err != nil {
				return err
			}
			// A browser always sends Origin on the cross-origin requests a
			// widget makes, so a token lifted from one site cannot be used
			// by a page on another. (Requests without Origin are not from
			// a browser page, which could forge any header anyway.)
			if o := req.Header.Get(echo.HeaderOrigin); o != "" && claims.Origin != "" {
				if norm, _ := widgetconfig.NormalizeOrigin(o); norm != claims.Origin {
					return errTokenOrigin
				}
			}
			c.Set(principalKey, principal{OrganizationID: claims.OrganizationID, ClientID: claims.Subject,
				Widget: true, TokenID: claims.ID, AssistantID: claims.AssistantID, ConfigID: claims.ConfigID,
				Visitor: claims.Visitor})
		default:
			return errUnauthenticated
		}
		return nil
	}
}

func (s *Server) checkAPIKey(ctx context.Context, key, secret string) (principal, error) {
	if key == "" || secret == "" {
		return principal{}, errUnauthenticated
	}
	cl, err := s.clients.Client(ctx, key)
	want := cl.SecretHash
	if err != nil {
		if !errors.Is(err, projections.ErrNotFound) {
			return principal{}, err
		}
		want = dummyHash
	}
	match := subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(want)) == 1
	if err != nil || !match || cl.Revoked {
		return principal{}, errBadCredentials
	}
	return principal{OrganizationID: cl.OrganizationID, ClientID: cl.ClientID}, nil
}

// apiKeyOnly refuses widget tokens on routes outside widget scope.
func apiKeyOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if principalOf(c).Widget {
			return errWidgetScope
		}
		return next(c)
	}
}
