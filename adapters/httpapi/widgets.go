package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/widgetconfig"
	"github.com/companin/companin/projections"
)

type tokenRequest struct {
	ClientID    string `json:"client_id"`
	AssistantID string `json:"assistant_id"`
	ConfigID    string `json:"config_id"`
	VisitorKey  string `json:"visitor_key"`
}

// tokenResponse is the one answer outside the envelope, exactly as the
// reference documents it.
type tokenResponse struct {
	Token     string `json:"token"`
	ExpiresIn int    `json:"expires_in"`
	TokenType string `json:"token_type"`
}

// widgetToken mints a widget token for a public client id. The token names
// the page origin it is for (refused unless allowed, see orgOrigins),
// the assistant and config when the request or the config names them, and
// a visitor binding (see visitorBinding).
func (s *Server) widgetToken(c echo.Context) error {
	var req tokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.ClientID == "" {
		return fieldError("client_id", "is required")
	}
	aid, err := parseUUIDField("assistant_id", req.AssistantID, false)
	if err != nil {
		return err
	}
	cid, err := parseUUIDField("config_id", req.ConfigID, false)
	if err != nil {
		return err
	}
	if n := len(req.VisitorKey); n > 0 && (n < 16 || n > 200 || !printableASCII(req.VisitorKey)) {
		return fieldError("visitor_key", "must be 16 to 200 printable ASCII characters of random text")
	}
	ctx := c.Request().Context()
	cl, err := s.Queries.Client(ctx, req.ClientID)
	if errors.Is(err, projections.ErrNotFound) || (err == nil && cl.Revoked) {
		return newError(http.StatusUnauthorized, "Authentication failed - unknown client_id")
	}
	if err != nil {
		return err
	}
	org := cl.OrganizationID
	if err := s.limit(c, quota{s.limiter, "org:" + org.String()},
		quota{s.widgetClientLimiter, "widget-client:" + cl.ClientID}); err != nil {
		return err
	}
	g := Grant{ClientID: cl.ClientID, OrganizationID: org, AssistantID: aid, ConfigID: cid}
	var allowed []string
	if cid != nil {
		w, err := s.Queries.WidgetConfig(ctx, org, *cid)
		if errors.Is(err, projections.ErrNotFound) {
			return fieldError("config_id", "no such widget config")
		}
		if err != nil {
			return err
		}
		if w.AssistantID != nil {
			if aid != nil && *aid != *w.AssistantID {
				return fieldError("assistant_id", "is not the widget config's assistant")
			}
			g.AssistantID = w.AssistantID
		}
		allowed = w.AllowedOrigins
	}
	if g.AssistantID != nil {
		if _, err := s.Queries.Assistant(ctx, org, *g.AssistantID); errors.Is(err, projections.ErrNotFound) {
			return commands.ErrAssistantNotFound
		} else if err != nil {
			return err
		}
	}
	if len(allowed) == 0 {
		if allowed, err = s.orgOrigins(ctx, org); err != nil {
			return err
		}
	}
	origin, _ := widgetconfig.NormalizeOrigin(c.Request().Header.Get(echo.HeaderOrigin))
	if len(allowed) > 0 && !slices.Contains(allowed, origin) {
		return errOriginRefused
	}
	g.Origin = origin
	if g.Visitor, err = s.visitorBinding(c, cl.ClientID, req.VisitorKey); err != nil {
		return err
	}
	tok, ttl, err := s.tokens.Mint(g)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tokenResponse{Token: tok, ExpiresIn: int(ttl.Seconds()), TokenType: "Bearer"})
}

// visitorBinding decides which sessions a new token may use: those started
// by tokens with the same binding.
//
//   - With a visitor_key (the widget keeps 128 random bits per browser in
//     localStorage) the binding is a hash of the client id and that key, so
//     every token minted for the same key, before or after a restart or
//     expiry, reaches the same sessions, and nobody without the key can get
//     a token that does. The hash, not the key, is what tokens and session
//     metadata carry.
//   - Without one, a still-valid token of the same client presented as
//     Bearer passes its binding on (a refresh).
//   - Otherwise the binding is new and random: the token reaches only the
//     sessions it starts itself.
func (s *Server) visitorBinding(c echo.Context, clientID, key string) (string, error) {
	if key != "" {
		sum := sha256.Sum256([]byte("companin-visitor\x00" + clientID + "\x00" + key))
		return "v1." + base64.RawURLEncoding.EncodeToString(sum[:18]), nil
	}
	if auth := c.Request().Header.Get(echo.HeaderAuthorization); strings.HasPrefix(auth, "Bearer ") {
		claims, err := s.tokens.Verify(c.Request().Context(), strings.TrimSpace(strings.TrimPrefix(auth, "Bearer ")))
		if err != nil || claims.Subject != clientID {
			return "", &apiError{code: errBadToken.code, detail: errBadToken.detail, err: err}
		}
		return claims.Visitor, nil
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "r1." + base64.RawURLEncoding.EncodeToString(b), nil
}

// orgOrigins is the organization's allowed-origins list: every origin any
// of its widget configs allows. Once one config restricts where the widget
// may run, tokens are only minted for pages on one of the listed origins.
func (s *Server) orgOrigins(ctx context.Context, org uuid.UUID) ([]string, error) {
	var out []string
	cursor := ""
	for range 20 { // 2,000 configs; an organization has a handful
		page, err := s.Queries.WidgetConfigs(ctx, org, 100, cursor)
		if err != nil {
			return nil, err
		}
		for _, w := range page.Items {
			for _, o := range w.AllowedOrigins {
				if !slices.Contains(out, o) {
					out = append(out, o)
				}
			}
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	return out, nil
}

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

type widgetConfigRequest struct {
	AssistantID    *string                        `json:"assistant_id"`
	Title          *string                        `json:"title"`
	Greeting       *string                        `json:"greeting"`
	Placeholder    *string                        `json:"placeholder"`
	PrimaryColor   *string                        `json:"primary_color"`
	TextColor      *string                        `json:"text_color"`
	Position       *string                        `json:"position"`
	LauncherIcon   *string                        `json:"launcher_icon"`
	Locale         *string                        `json:"locale"`
	AllowedOrigins *[]string                      `json:"allowed_origins"`
	Translations   *map[string]widgetconfig.Texts `json:"translations"`
}

func (r widgetConfigRequest) apply(s *widgetconfig.Spec) error {
	if r.AssistantID != nil {
		id, err := parseUUIDField("assistant_id", *r.AssistantID, false)
		if err != nil {
			return err
		}
		s.AssistantID = id
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.Title, r.Title)
	set(&s.Greeting, r.Greeting)
	set(&s.Placeholder, r.Placeholder)
	set(&s.PrimaryColor, r.PrimaryColor)
	set(&s.TextColor, r.TextColor)
	set(&s.Position, r.Position)
	set(&s.LauncherIcon, r.LauncherIcon)
	set(&s.Locale, r.Locale)
	if r.AllowedOrigins != nil {
		s.AllowedOrigins = *r.AllowedOrigins
	}
	if r.Translations != nil {
		s.Translations = *r.Translations
	}
	return nil
}

func (s *Server) createWidgetConfig(c echo.Context) error {
	var req widgetConfigRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var spec widgetconfig.Spec
	if err := req.apply(&spec); err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if spec.AssistantID != nil {
		if _, err := s.Assistants.Load(ctx, m, *spec.AssistantID); errors.Is(err, commands.ErrNotFound) {
			return commands.ErrAssistantNotFound
		} else if err != nil {
			return err
		}
	}
	id := commands.NewID(m, "widgetconfig")
	res, err := s.Widgets.Create(ctx, m, id, spec)
	if err != nil {
		return err
	}
	return s.answerWidgetConfig(c, ctx, res, http.StatusCreated, "Widget config created")
}

func (s *Server) answerWidgetConfig(c echo.Context, _ context.Context, res commands.Result, code int, detail string) error {
	return written(s, c, projections.Widgets, res, code, detail, s.Queries.WidgetConfig)
}

func (s *Server) updateWidgetConfig(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req widgetConfigRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	var applyErr error
	res, err := s.Widgets.Update(c.Request().Context(), m, id, func(sp *widgetconfig.Spec) { applyErr = req.apply(sp) })
	if applyErr != nil {
		return applyErr
	}
	if err != nil {
		return err
	}
	return s.answerWidgetConfig(c, c.Request().Context(), res, http.StatusOK, "Widget config updated")
}

func (s *Server) getWidgetConfig(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	// A widget token reads the config it was minted for and no other.
	if p := principalOf(c); p.Widget && (p.ConfigID == nil || *p.ConfigID != id) {
		return errNotFound
	}
	w, err := s.Queries.WidgetConfig(c.Request().Context(), principalOf(c).OrganizationID, id)
	if err != nil {
		return err
	}
	return ok(c, "Widget config retrieved", w)
}

func (s *Server) listWidgetConfigs(c echo.Context) error {
	return listed(c, "Widget configs retrieved", s.Queries.WidgetConfigs)
}

func (s *Server) deleteWidgetConfig(c echo.Context) error {
	return s.deleted(c, projections.Widgets, "Widget config deleted", s.Widgets.Delete)
}

// source is what a visitor may see of a knowledge item a reply cited: its
// title and, for a web page, where to read it.
type source struct {
	KnowledgeID uuid.UUID `json:"knowledge_id"`
	Kind        string    `json:"kind"`
	Title       string    `json:"title"`
	URL         *string   `json:"url"`
}

func (s *Server) getSource(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	k, err := s.Queries.KnowledgeItem(c.Request().Context(), principalOf(c).OrganizationID, id)
	if err != nil {
		return err
	}
	out := source{KnowledgeID: k.ID, Kind: k.Kind, Title: k.Title}
	if u, err := url.Parse(k.URL); err == nil && k.Kind == "url" && (u.Scheme == "https" || u.Scheme == "http") {
		out.URL = &k.URL
	}
	return ok(c, "Source retrieved", out)
}
