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
	return written(s, c, projections.Assistants, res, http.StatusCreated, "Assistant created", s.Queries.Assistant)
}

func (s *Server) listAssistants(c echo.Context) error {
	return listed(c, "Assistants retrieved", s.Queries.Assistants)
}

func (s *Server) getAssistant(c echo.Context) error {
	return getByID(c, "Assistant retrieved", s.Queries.Assistant)
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
	return written(s, c, projections.Assistants, res, http.StatusOK, "Assistant updated", s.Queries.Assistant)
}

func (s *Server) deleteAssistant(c echo.Context) error {
	return s.deleted(c, projections.Assistants, "Assistant deleted", s.Assistants.Delete)
}
