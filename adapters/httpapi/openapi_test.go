package httpapi_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/companin/companin/adapters/eventstore/pgstore"
	"github.com/companin/companin/adapters/httpapi"
	"github.com/companin/companin/adapters/httpapi/openapitest"
	"github.com/companin/companin/adapters/pgtest"
	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/assistant"
	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/knowledge"
	"github.com/companin/companin/domain/organization"
	"github.com/companin/companin/domain/usercontext"
	"github.com/companin/companin/domain/widgetconfig"
	"github.com/companin/companin/projections"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newServer wires the API on a fresh database the way cmd/companin does.
func newServer(t *testing.T) *httpapi.Server {
	t.Helper()
	pool := pgtest.Pool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	codec := event.NewCodec(organization.Kinds(), assistant.Kinds(), conversation.Kinds(),
		usercontext.Kinds(), knowledge.Kinds(), widgetconfig.Kinds())
	store := pgstore.New(pool)
	tokens := httpapi.NewTokens(pool, nil)
	if err := tokens.Init(ctx); err != nil {
		t.Fatalf("tokens: %v", err)
	}
	return httpapi.New(httpapi.Deps{
		Pool: pool, Queries: projections.NewQueries(pool), Progress: projections.NewProgress(pool),
		Assistants:    commands.NewAssistants(store, codec, nil),
		Conversations: commands.NewConversations(store, codec, nil),
		Contexts:      commands.NewContexts(store, codec, nil),
		Knowledge:     commands.NewKnowledge(store, codec, nil),
		Widgets:       commands.NewWidgetConfigs(store, codec, nil),
		Tokens:        tokens,
		Limiter:       httpapi.NewRateLimiter(pool, 1000, time.Hour, nil),
	}, httpapi.Config{})
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIMatchesRoutes keeps the document and the router the same set
// of operations, both ways.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	v := openapitest.Load(t)

	routed := map[string]bool{}
	for _, r := range s.Echo().Routes() {
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

// TestOpenAPIDocument checks the document on its own: valid OpenAPI 3.0,
// and every operation named and summarised.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if got, want := doc.OpenAPI, "3.0.3"; got != want {
		t.Errorf("openapi = %q, want %q", got, want)
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", where)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s and %s share operationId %q", where, other, op.OperationID)
			} else {
				ids[op.OperationID] = where
			}
			if strings.TrimSpace(op.Summary) == "" {
				t.Errorf("%s has no summary", where)
			}
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
