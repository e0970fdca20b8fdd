package httpapi

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/companin/companin/widget"
)

// widgetScript serves /widget.js, the URL the embed tag names. Pages keep
// it five minutes and then revalidate with its ETag, so a new release
// reaches every site within minutes at the cost of a 304.
func (s *Server) widgetScript(c echo.Context) error {
	return serveScript(c, "public, max-age=300, stale-while-revalidate=86400")
}

// widgetScriptVersion serves the same script at /widget/{version}/widget.js,
// which never changes: cached for a year. Other versions are not in this
// binary.
func (s *Server) widgetScriptVersion(c echo.Context) error {
	if c.Param("version") != widget.Version {
		return errNotFound
	}
	return serveScript(c, "public, max-age=31536000, immutable")
}

func serveScript(c echo.Context, cacheControl string) error {
	h := c.Response().Header()
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin") // any site may embed it
	h.Set("X-Widget-Version", widget.Version)
	h.Add("Vary", "Accept-Encoding")
	body, etag := widget.Script(), `"`+widget.Version+`"`
	gz := acceptsGzip(c.Request().Header.Get("Accept-Encoding"))
	if gz {
		body, etag = widget.Gzipped(), `"`+widget.Version+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if match := c.Request().Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
		h.Del("Content-Encoding")
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", body)
}

func acceptsGzip(v string) bool {
	for _, part := range strings.Split(v, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") {
			return true
		}
	}
	return false
}

// etagMatches compares If-None-Match weakly, as RFC 9110 asks for GET.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// widgetDemo serves a page that embeds the widget with the ids in its
// query (client_id, assistant_id, config_id), or a form asking for them.
func (s *Server) widgetDemo(c echo.Context) error {
	req := c.Request()
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	var buf bytes.Buffer
	err := widget.RenderDemo(&buf, widget.Demo{
		Base:        scheme + "://" + req.Host,
		ClientID:    c.QueryParam("client_id"),
		AssistantID: c.QueryParam("assistant_id"),
		ConfigID:    c.QueryParam("config_id"),
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}
