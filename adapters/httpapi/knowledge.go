package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/knowledge"
	"github.com/companin/companin/projections"
	"github.com/companin/companin/retrieval"
)

type qaRequest struct {
	Question    string   `json:"question"`
	Answer      string   `json:"answer"`
	Tags        []string `json:"tags"`
	Source      string   `json:"source"`
	AssistantID string   `json:"assistant_id"`
}

func (s *Server) addQA(c echo.Context) error {
	var req qaRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	aid, err := parseUUIDField("assistant_id", req.AssistantID, false)
	if err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := commands.NewID(m, "knowledge")
	res, err := s.Knowledge.AddQA(ctx, m, id, knowledge.QA{
		Question: req.Question, Answer: req.Answer, Tags: req.Tags, Source: req.Source, AssistantID: aid,
	})
	if err != nil {
		return err
	}
	return written(s, c, projections.Knowledge, res, http.StatusCreated, "Q&A pair added", s.Queries.KnowledgeItem)
}

func (s *Server) listKnowledge(c echo.Context) error {
	return listed(c, "Knowledge items retrieved", s.Queries.KnowledgeItems)
}

func (s *Server) getKnowledge(c echo.Context) error {
	return getByID(c, "Knowledge item retrieved", s.Queries.KnowledgeItem)
}

func (s *Server) deleteKnowledge(c echo.Context) error {
	return s.deleted(c, projections.Knowledge, "Knowledge item deleted", s.Knowledge.Remove)
}

func (s *Server) searchKnowledge(c echo.Context) error {
	q := c.QueryParam("q")
	if q == "" {
		return fieldError("q", "is required")
	}
	limit, _, err := listParams(c)
	if err != nil {
		return err
	}
	aid, err := parseUUIDField("assistant_id", c.QueryParam("assistant_id"), false)
	if err != nil {
		return err
	}
	mode, err := retrieval.ParseMode(c.QueryParam("mode"))
	if err != nil {
		return fieldError("mode", "must be hybrid, fulltext or vector")
	}
	hits, err := s.Retrieval.Search(c.Request().Context(), retrieval.Query{Org: principalOf(c).OrganizationID,
		Assistant: aid, Lang: c.QueryParam("lang"), Text: q, Limit: limit, Mode: mode})
	if err != nil {
		return err
	}
	return ok(c, "Search results", map[string]any{"items": hits, "next_cursor": nil})
}
