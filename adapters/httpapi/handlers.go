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
	"github.com/companin/companin/projections"
)

// meta builds a command's envelope context from the request.
func (s *Server) meta(c echo.Context) (commands.Meta, error) {
	p := principalOf(c)
	key := c.Request().Header.Get("Idempotency-Key")
	if len(key) > 200 || !utf8.ValidString(key) || strings.ContainsAny(key, "\x00\r\n") {
		return commands.Meta{}, fieldError("Idempotency-Key", "must be at most 200 printable characters")
	}
	corr, _ := c.Get(correlationKey).(uuid.UUID)
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

// getByID answers GET of one resource of the caller's organization.
func getByID[T any](c echo.Context, detail string, load func(ctx context.Context, org, id uuid.UUID) (T, error)) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	v, err := load(c.Request().Context(), principalOf(c).OrganizationID, id)
	if err != nil {
		return err
	}
	return ok(c, detail, v)
}

// listed answers GET of a list page of the caller's organization.
func listed[T any](c echo.Context, detail string, load func(ctx context.Context, org uuid.UUID, limit int, cursor string) (projections.Page[T], error)) error {
	limit, cursor, err := listParams(c)
	if err != nil {
		return err
	}
	page, err := load(c.Request().Context(), principalOf(c).OrganizationID, limit, cursor)
	if err != nil {
		return err
	}
	return ok(c, detail, page)
}

// deleted answers DELETE of one resource by id once its projection shows it.
func (s *Server) deleted(c echo.Context, projection, detail string, run func(ctx context.Context, m commands.Meta, id uuid.UUID) (commands.Result, error)) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	res, err := run(c.Request().Context(), m, id)
	if err != nil {
		return err
	}
	if err := s.visible(c, projection, res); err != nil {
		return err
	}
	return ok(c, detail, map[string]any{"id": id, "deleted": true})
}

// written answers a write once projection shows it, with the resource as
// the read model has it, so the answer and the next read agree.
func written[T any](s *Server, c echo.Context, projection string, res commands.Result, code int, detail string,
	load func(ctx context.Context, org, id uuid.UUID) (T, error)) error {
	if err := s.visible(c, projection, res); err != nil {
		return err
	}
	v, err := load(c.Request().Context(), principalOf(c).OrganizationID, res.ID)
	if err != nil {
		return err
	}
	return respond(c, code, detail, v)
}
