package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/widgetconfig"
	"github.com/companin/companin/projections"
)

type tokenRequest struct {
	ClientID string `json:"client_id"`
}

// tokenResponse is the one answer outside the envelope, exactly as the
// reference documents it.
type tokenResponse struct {
	Token     string `json:"token"`
	ExpiresIn int    `json:"expires_in"`
	TokenType string `json:"token_type"`
}

func (s *Server) widgetToken(c echo.Context) error {
	var req tokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.ClientID == "" {
		return fieldError("client_id", "is required")
	}
	cl, err := s.Queries.Client(c.Request().Context(), req.ClientID)
	if errors.Is(err, projections.ErrNotFound) || (err == nil && cl.Revoked) {
		return newError(http.StatusUnauthorized, "Authentication failed - unknown client_id")
	}
	if err != nil {
		return err
	}
	tok, ttl, err := s.tokens.Mint(cl.ClientID, cl.OrganizationID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tokenResponse{Token: tok, ExpiresIn: int(ttl.Seconds()), TokenType: "Bearer"})
}

// rateLimitByClient limits token minting by the organization the client id
// belongs to, or by address for unknown ids.
func (s *Server) rateLimitByClient(next echo.HandlerFunc) echo.HandlerFunc {
	return s.rateLimit(next)
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

func (s *Server) answerWidgetConfig(c echo.Context, ctx context.Context, res commands.Result, code int, detail string) error {
	if err := s.visible(c, projections.Widgets, res); err != nil {
		return err
	}
	w, err := s.Queries.WidgetConfig(ctx, principalOf(c).OrganizationID, res.ID)
	if err != nil {
		return err
	}
	return respond(c, code, detail, w)
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
	w, err := s.Queries.WidgetConfig(c.Request().Context(), principalOf(c).OrganizationID, id)
	if err != nil {
		return err
	}
	return ok(c, "Widget config retrieved", w)
}

func (s *Server) listWidgetConfigs(c echo.Context) error {
	limit, cursor, err := listParams(c)
	if err != nil {
		return err
	}
	page, err := s.Queries.WidgetConfigs(c.Request().Context(), principalOf(c).OrganizationID, limit, cursor)
	if err != nil {
		return err
	}
	return ok(c, "Widget configs retrieved", page)
}

func (s *Server) deleteWidgetConfig(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	res, err := s.Widgets.Delete(c.Request().Context(), m, id)
	if err != nil {
		return err
	}
	if err := s.visible(c, projections.Widgets, res); err != nil {
		return err
	}
	return ok(c, "Widget config deleted", map[string]any{"id": id, "deleted": true})
}
