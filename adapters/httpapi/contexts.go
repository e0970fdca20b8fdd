package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companin/companin/projections"
)

type contextRequest struct {
	UserReference string         `json:"user_reference"`
	Traits        map[string]any `json:"traits"`
}

type contextPatch struct {
	Traits map[string]any `json:"traits"`
}

func (s *Server) createContext(c echo.Context) error {
	var req contextRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := s.Contexts.Create(ctx, m, req.UserReference, req.Traits)
	if err != nil {
		return err
	}
	if err := s.visible(c, projections.Contexts, res); err != nil {
		return err
	}
	uc, err := s.Queries.UserContext(ctx, m.OrganizationID, req.UserReference)
	if err != nil {
		return err
	}
	return created(c, "User context created", uc)
}

func (s *Server) getContext(c echo.Context) error {
	uc, err := s.Queries.UserContext(c.Request().Context(), principalOf(c).OrganizationID, c.Param("ref"))
	if err != nil {
		return err
	}
	return ok(c, "User context retrieved", uc)
}

func (s *Server) updateContext(c echo.Context) error {
	var req contextPatch
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Traits == nil {
		return fieldError("traits", "is required")
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	ctx, ref := c.Request().Context(), c.Param("ref")
	res, err := s.Contexts.Merge(ctx, m, ref, req.Traits)
	if err != nil {
		return err
	}
	if err := s.visible(c, projections.Contexts, res); err != nil {
		return err
	}
	uc, err := s.Queries.UserContext(ctx, m.OrganizationID, ref)
	if err != nil {
		return err
	}
	return ok(c, "User context updated", uc)
}

func (s *Server) deleteContext(c echo.Context) error {
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	res, err := s.Contexts.Erase(c.Request().Context(), m, c.Param("ref"))
	if err != nil {
		return err
	}
	if err := s.visible(c, projections.Contexts, res); err != nil {
		return err
	}
	return respond(c, http.StatusOK, "User context deleted", map[string]any{"user_reference": c.Param("ref"), "deleted": true})
}
