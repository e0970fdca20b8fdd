package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/companin/companin/commands"
)

// meta builds a command's envelope context from the request.
func (s *Server) meta(c echo.Context) (commands.Meta, error) {
	p := principalOf(c)
	key := c.Request().Header.Get("Idempotency-Key")
	if len(key) > 200 || !utf8.ValidString(key) || strings.ContainsAny(key, "\x00\r\n") {
		return commands.Meta{}, fieldError("Idempotency-Key", "must be at most 200 printable characters")
	}
	corr, err := uuid.Parse(c.Request().Header.Get("X-Correlation-Id"))
	if err != nil {
		corr = uuid.New()
	}
	actor := p.ClientID
	if p.Widget {
		actor = "widget:" + p.ClientID
		// Ids derive from the key within the organization: scope a
		// visitor's keys to the visitor, or one visitor's retry could
		// replay (and so answer with) another visitor's session.
		if key != "" {
			key = "widget:" + p.Visitor + "\x00" + key
		}
	}
	return commands.Meta{OrganizationID: p.OrganizationID, CorrelationID: corr, IdempotencyKey: key, Actor: actor}, nil
}

// visible waits until projection name shows res, so the client's next read
// (and our own answer) reflects the write. It is bounded; past the bound
// the write still happened and the answer says so.
func (s *Server) visible(c echo.Context, name string, res commands.Result) error {
	if res.Position.Commit == 0 && res.Position.Prepare == 0 {
		return nil // nothing appended (a no-op or a replay)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.ProjectionWait)
	defer cancel()
	if err := s.Progress.WaitFor(ctx, name, res.Position); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return &apiError{code: http.StatusAccepted, detail: "Accepted - the change is being applied",
				data: map[string]any{"id": res.ID}}
		}
		return err
	}
	return nil
}

// pathID parses the :id parameter; a malformed id is simply not found.
func pathID(c echo.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, errNotFound
	}
	return id, nil
}

// listParams reads ?limit= and ?cursor=.
func listParams(c echo.Context) (int, string, error) {
	limit := 20
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, "", fieldError("limit", "must be an integer from 1 to 100")
		}
		limit = n
	}
	return limit, c.QueryParam("cursor"), nil
}

// parseUUIDField parses a UUID given as a JSON string field.
func parseUUIDField(field, v string, required bool) (*uuid.UUID, error) {
	if v == "" {
		if required {
			return nil, fieldError(field, "is required")
		}
		return nil, nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return nil, fieldError(field, "must be a UUID")
	}
	return &id, nil
}
