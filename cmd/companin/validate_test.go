package main

import (
	"net/http"
	"sync"
	"testing"

	"github.com/companin/companin/adapters/httpapi/openapitest"
)

var (
	validatorOnce sync.Once
	validator     *openapitest.Validator
)

// validate checks every answer of the end-to-end tests against the OpenAPI
// document the server publishes.
func validate(t *testing.T, req *http.Request, r response) {
	t.Helper()
	validatorOnce.Do(func() { validator = openapitest.Load(t) })
	validator.Check(t, req, r.Status, r.Header, r.Body)
}
