package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/assistant"
	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/knowledge"
	"github.com/companin/companin/domain/usercontext"
	"github.com/companin/companin/domain/validation"
	"github.com/companin/companin/domain/widgetconfig"
	"github.com/companin/companin/projections"
)

// apiError is an error with the status and detail a client should see.
type apiError struct {
	code   int
	detail string
	data   any
	err    error
}

func (e *apiError) Error() string {
	if e.err != nil {
		return fmt.Sprintf("%d %s: %v", e.code, e.detail, e.err)
	}
	return fmt.Sprintf("%d %s", e.code, e.detail)
}

func (e *apiError) Unwrap() error { return e.err }

func newError(code int, detail string) *apiError { return &apiError{code: code, detail: detail} }

// Sentinels for conditions the HTTP layer itself detects.
var (
	errUnauthenticated = newError(http.StatusUnauthorized, "Authentication required - provide X-API-Key and X-API-Secret headers or a Bearer token")
	errBadCredentials  = newError(http.StatusUnauthorized, "Authentication failed - invalid credentials")
	errBadToken        = newError(http.StatusUnauthorized, "Authentication failed - invalid or expired token")
	errWidgetScope     = newError(http.StatusForbidden, "Forbidden - widget tokens may only use widget endpoints")
	errTokenOrigin     = newError(http.StatusUnauthorized, "Authentication failed - the widget token was issued for another origin")
	errOriginRefused   = newError(http.StatusForbidden, "Forbidden - this origin may not embed the widget")
	errWrongAssistant  = newError(http.StatusForbidden, "Forbidden - the widget token is for another assistant")
	errNotFound        = newError(http.StatusNotFound, "Resource not found")
)

// statusTable maps domain and application errors to HTTP answers. It is the
// only place that knows both; order matters only where errors wrap others.
var statusTable = []struct {
	err    error
	code   int
	detail string
}{
	{commands.ErrNotFound, http.StatusNotFound, "Resource not found"},
	{projections.ErrNotFound, http.StatusNotFound, "Resource not found"},
	{projections.ErrBadCursor, http.StatusBadRequest, "Invalid cursor"},
	{knowledge.ErrNotRefreshable, http.StatusConflict, "Only web page items can be refreshed"},
	{commands.ErrAssistantNotFound, http.StatusUnprocessableEntity, "Assistant not found"},
	{assistant.ErrExists, http.StatusConflict, "Assistant already exists"},
	{assistant.ErrDeleted, http.StatusConflict, "Assistant has been deleted"},
	{assistant.ErrInactive, http.StatusConflict, "Assistant is not active"},
	{conversation.ErrExists, http.StatusConflict, "Already exists"},
	{conversation.ErrEnded, http.StatusConflict, "The session or conversation has ended"},
	{conversation.ErrTooLong, http.StatusConflict, "The session or conversation has reached its message limit"},
	{usercontext.ErrExists, http.StatusConflict, "User context already exists"},
	{usercontext.ErrErased, http.StatusNotFound, "Resource not found"},
	{knowledge.ErrExists, http.StatusConflict, "Knowledge item already exists"},
	{widgetconfig.ErrExists, http.StatusConflict, "Widget config already exists"},
	{widgetconfig.ErrDeleted, http.StatusNotFound, "Resource not found"},
	{event.ErrConflict, http.StatusConflict, "Concurrent modification - retry the request"},
	{event.ErrIDReuse, http.StatusConflict, "Idempotency-Key was already used for a different request"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "The request timed out - retry later"},
}

// errorHandler renders every error as the envelope. Installed as Echo's
// HTTPErrorHandler, so routing errors, body limits and panics (recovered by
// middleware into errors) come here too.
func errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, detail, data := classify(err)
	if code >= 500 {
		slog.ErrorContext(c.Request().Context(), "request failed", "err", err, "path", c.Path(),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	status := "error"
	if code < 400 {
		status = "success" // e.g. 202: the write happened, its effect is still being applied
	}
	_ = c.JSON(code, Envelope{Status: status, StatusCode: code, Detail: detail, Data: data})
}

func classify(err error) (int, string, any) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.code, ae.detail, ae.data
	}
	var ve *validation.Error
	if errors.As(err, &ve) {
		return http.StatusUnprocessableEntity, "Validation failed", map[string]any{"fields": ve.Fields}
	}
	for _, row := range statusTable {
		if errors.Is(err, row.err) {
			return row.code, row.detail, nil
		}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code, echoDetail(he), nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return http.StatusBadRequest, "Malformed JSON", nil
	}
	return http.StatusInternalServerError, "Internal server error", nil
}

func echoDetail(he *echo.HTTPError) string {
	switch he.Code {
	case http.StatusNotFound:
		return "Resource not found"
	case http.StatusMethodNotAllowed:
		return "Method not allowed"
	case http.StatusRequestEntityTooLarge:
		return "Request body too large"
	case http.StatusUnsupportedMediaType:
		return "Unsupported media type"
	}
	if m, ok := he.Message.(string); ok && m != "" {
		return m
	}
	return http.StatusText(he.Code)
}
