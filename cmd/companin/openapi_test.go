package main

import (
	"regexp"
	"slices"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/companin/companin/adapters/httpapi/openapitest"
)

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIMatchesRoutes keeps the document and the router the same set
// of operations, both ways.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	v := openapitest.Load(t)

	routed := map[string]bool{}
	for _, r := range s.app.api.Echo().Routes() {
		// Groups with middleware register catch-all not-found routes so
		// their middleware runs for unknown paths; they are not operations.
		if r.Method == echo.RouteNotFound {
			continue
		}
		path := echoParam.ReplaceAllString(r.Path, "{$1}")
		routed[r.Method+" "+path] = true
	}
	documented := map[string]bool{}
	for path, methods := range v.Paths() {
		for _, m := range methods {
			documented[m+" "+path] = true
		}
	}
	for _, op := range sortedKeys(routed) {
		if !documented[op] {
			t.Errorf("route %s is not in openapi.json", op)
		}
	}
	for _, op := range sortedKeys(documented) {
		if !routed[op] {
			t.Errorf("openapi.json has %s, which is not routed", op)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
