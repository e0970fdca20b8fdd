package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// decode reads a JSON object body into dst strictly: the right media type,
// valid UTF-8, one object, no unknown fields, the right types. Every problem
// is a 4xx envelope; nothing is acted on.
func decode(c echo.Context, dst any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return newError(http.StatusUnsupportedMediaType, "Unsupported media type - send application/json")
		}
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return newError(http.StatusRequestEntityTooLarge, "Request body too large")
		}
		return &apiError{code: http.StatusBadRequest, detail: "Could not read request body", err: err}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return newError(http.StatusBadRequest, "Request body is required")
	}
	if !utf8.Valid(body) {
		return newError(http.StatusBadRequest, "Request body must be valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return newError(http.StatusBadRequest, "Malformed JSON - trailing data after the object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return newError(http.StatusBadRequest, "Malformed JSON - trailing data after the object")
	}
	return nil
}

func decodeError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &apiError{code: http.StatusBadRequest, detail: "Malformed JSON", err: err}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return &apiError{code: http.StatusBadRequest, detail: "Request body must be a JSON object", err: err}
		}
		return fieldError(field, fmt.Sprintf("must be %s", jsonType(te.Type.String())))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldError(name, "is not a known field")
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return &apiError{code: http.StatusBadRequest, detail: "Malformed JSON", err: err}
}

func fieldError(field, msg string) *apiError {
	return &apiError{code: http.StatusUnprocessableEntity, detail: "Validation failed",
		data: map[string]any{"fields": map[string]string{field: msg}}}
}

func jsonType(goType string) string {
	switch {
	case goType == "string", strings.HasSuffix(goType, "UUID"):
		return "a string"
	case goType == "bool":
		return "a boolean"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "struct"):
		return "an object"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"), goType == "json.Number":
		return "a number"
	}
	return "of type " + goType
}
