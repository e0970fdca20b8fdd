package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/assistant"
	"github.com/companin/companin/projections"
)

type assistantRequest struct {
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	Tone         string   `json:"tone"`
	Language     string   `json:"language"`
	DefaultTasks []string `json:"default_tasks"`
	IsActive     *bool    `json:"is_active"`
}

func (s *Server) createAssistant(c echo.Context) error {
	var req assistantRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	active := true
	if req.IsActive != nil {
		active = *req.IsActive
	}
	id := commands.NewID(m, "assistant")
	res, err := s.Assistants.Create(c.Request().Context(), m, id, assistant.Spec{
		Name: req.Name, Description: req.Description, Tone: req.Tone, Language: req.Language,
		DefaultTasks: req.DefaultTasks, IsActive: active,
	})
	if err != nil {
		return err
	}
	if err := s.visible(c, projections.Assistants, res); err != nil {
		return err
	}
	a, err := s.Queries.Assistant(c.Request().Context(), m.OrganizationID, id)
	if err != nil {
		return err
	}
	return created(c, "Assistant created", a)
}

func (s *Server) listAssistants(c echo.Context) error {
	limit, cursor, err := listParams(c)
	if err != nil {
		return err
	}
	page, err := s.Queries.Assistants(c.Request().Context(), principalOf(c).OrganizationID, limit, cursor)
	if err != nil {
		return err
	}
	return ok(c, "Assistants retrieved", page)
}

func (s *Server) getAssistant(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	a, err := s.Queries.Assistant(c.Request().Context(), principalOf(c).OrganizationID, id)
	if err != nil {
		return err
	}
	return ok(c, "Assistant retrieved", a)
}

func (s *Server) updateAssistant(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var p assistant.Patch
	if err := decode(c, &p); err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	res, err := s.Assistants.Update(c.Request().Context(), m, id, p)
	if err != nil {
		return err
	}
	if err := s.visible(c, projections.Assistants, res); err != nil {
		return err
	}
	a, err := s.Queries.Assistant(c.Request().Context(), m.OrganizationID, id)
	if err != nil {
		return err
	}
	return ok(c, "Assistant updated", a)
}

func (s *Server) deleteAssistant(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	res, err := s.Assistants.Delete(c.Request().Context(), m, id)
	if err != nil {
		return err
	}
	if err := s.visible(c, projections.Assistants, res); err != nil {
		return err
	}
	return respond(c, http.StatusOK, "Assistant deleted", map[string]any{"id": id, "deleted": true})
}
