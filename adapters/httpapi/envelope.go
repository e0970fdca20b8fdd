package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Envelope is the shape of every answer except the widget token.
type Envelope struct {
	Status     string `json:"status"`
	StatusCode int    `json:"status_code"`
	Detail     string `json:"detail"`
	Data       any    `json:"data"`
}

func respond(c echo.Context, code int, detail string, data any) error {
	return c.JSON(code, Envelope{Status: "success", StatusCode: code, Detail: detail, Data: data})
}

func ok(c echo.Context, detail string, data any) error {
	return respond(c, http.StatusOK, detail, data)
}

func created(c echo.Context, detail string, data any) error {
	return respond(c, http.StatusCreated, detail, data)
}
