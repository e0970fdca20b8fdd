// Package openapitest checks HTTP answers against the API's OpenAPI
// document, so tests keep the document and the server honest with each
// other. It is test support: import it only from _test files.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/companin/companin/adapters/httpapi"
)

// Validator holds the loaded document and a router over its paths.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// Load parses and validates httpapi.OpenAPI(); a broken document fails t.
func Load(t testing.TB) *Validator {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		t.Fatalf("openapitest: load document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapitest: invalid document: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapitest: router: %v", err)
	}
	return &Validator{doc: doc, router: router}
}

// Doc returns the loaded document.
func (v *Validator) Doc() *openapi3.T { return v.doc }

// Check fails t unless the answer (status, header, body) to req is one the
// document describes for req's route. Undocumented statuses fail too.
//
// req may be a request already sent: its body is not read. A trailing
// slash is ignored, as the server ignores it. An answer to a path or
// method the document lacks must be the error envelope (the server's 404
// and 405), or empty (HEAD, CORS preflight).
func (v *Validator) Check(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	// A copy without the body: validation must neither consume nor race
	// with the caller's request.
	r := req.Clone(context.Background())
	r.Body, r.GetBody, r.ContentLength = http.NoBody, nil, 0
	u := *req.URL
	if len(u.Path) > 1 {
		u.Path = strings.TrimSuffix(u.Path, "/")
	}
	if len(u.RawPath) > 1 {
		u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	}
	r.URL = &u

	route, params, err := v.router.FindRoute(r)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		v.checkUnrouted(t, r, status, header, body, err)
		return
	}
	if err != nil {
		t.Errorf("openapitest: %s %s: find route: %v", req.Method, req.URL.Path, err)
		return
	}
	opts := &openapi3filter.Options{
		ExcludeRequestBody:    true,
		IncludeResponseStatus: true,
		MultiError:            true,
		// Authentication has its own tests; here any credentials pass.
		AuthenticationFunc: func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: r, PathParams: params, Route: route, Options: opts,
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("openapitest: %s %s answered %d, which the document does not allow: %v\nbody: %s",
			req.Method, req.URL.Path, status, err, truncate(body))
	}
}

// checkUnrouted accepts the server's own answers to routes the document
// does not have.
func (v *Validator) checkUnrouted(t testing.TB, r *http.Request, status int, header http.Header, body []byte, routeErr error) {
	t.Helper()
	if len(body) == 0 && (r.Method == http.MethodHead || r.Method == http.MethodOptions) {
		return
	}
	if status < 400 {
		t.Errorf("openapitest: %s %s answered %d but the document has no such operation (%v)",
			r.Method, r.URL.Path, status, routeErr)
		return
	}
	schema := v.doc.Components.Schemas["ErrorEnvelope"]
	if schema == nil || schema.Value == nil {
		t.Errorf("openapitest: the document lacks components.schemas.ErrorEnvelope")
		return
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("openapitest: %s %s answered %d with Content-Type %q, want application/json",
			r.Method, r.URL.Path, status, ct)
		return
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		t.Errorf("openapitest: %s %s answered %d with a body that is not JSON: %v", r.Method, r.URL.Path, status, err)
		return
	}
	if err := schema.Value.VisitJSON(value, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		t.Errorf("openapitest: %s %s answered %d with a body that is not the error envelope: %v\nbody: %s",
			r.Method, r.URL.Path, status, err, truncate(body))
	}
}

// Paths returns the document's operations: path → methods (upper case).
func (v *Validator) Paths() map[string][]string {
	out := map[string][]string{}
	for path, item := range v.doc.Paths.Map() {
		for method := range item.Operations() {
			out[path] = append(out[path], strings.ToUpper(method))
		}
		slices.Sort(out[path])
	}
	return out
}

func truncate(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
