package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/companin/companin/commands"
	"github.com/companin/companin/projections"
	"github.com/companin/companin/widget"
)

// widgetOrg is an organization with an assistant and a widget config that
// only https://shop.example may embed.
type widgetOrg struct {
	creds
	assistant, other, config, otherConfig string
}

const shopOrigin = "https://shop.example"

func newWidgetOrg(t *testing.T, s *testServer) widgetOrg {
	t.Helper()
	o := widgetOrg{creds: s.newOrg(t, "Shop")}
	h := o.headers()
	r := s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"Support"}`})
	wantStatus(t, r, 201)
	o.assistant = r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"Sales"}`})
	wantStatus(t, r, 201)
	o.other = r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/widget-configs", header: h, body: fmt.Sprintf(
		`{"assistant_id":%q,"title":"Help","allowed_origins":[%q]}`, o.assistant, shopOrigin)})
	wantStatus(t, r, 201)
	o.config = r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/widget-configs", header: h, body: `{"title":"Other"}`})
	wantStatus(t, r, 201)
	o.otherConfig = r.data(t)["id"].(string)
	return o
}

// mint asks for a widget token; body fields are added to the client id.
func (o widgetOrg) mint(t *testing.T, s *testServer, origin string, fields map[string]string) response {
	t.Helper()
	body := map[string]string{"client_id": o.ClientID}
	for k, v := range fields {
		body[k] = v
	}
	h := map[string]string{}
	if origin != "" {
		h["Origin"] = origin
	}
	return s.do(t, request{method: "POST", path: "/api/v1/auth/widget-token", header: h, body: body})
}

func (o widgetOrg) token(t *testing.T, s *testServer, visitorKey string) string {
	t.Helper()
	r := o.mint(t, s, shopOrigin, map[string]string{"config_id": o.config, "visitor_key": visitorKey})
	wantStatus(t, r, 200)
	var tok struct{ Token string }
	mustJSON(t, r.Body, &tok)
	return tok.Token
}

func fromShop(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "Origin": shopOrigin}
}

func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	mustJSON(t, raw, &c)
	return c
}

// sign makes a token with the server's own current key, as only the server
// could: the refusals below are about the claims, not the signature.
func sign(t *testing.T, s *testServer, claims jwt.MapClaims) string {
	t.Helper()
	var kid string
	var key []byte
	err := s.pool.QueryRow(context.Background(),
		`SELECT kid, secret FROM signing_keys ORDER BY created_at DESC, kid DESC LIMIT 1`).Scan(&kid, &key)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = kid
	out, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	visitorA = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
	visitorB = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
)

func TestWidgetTokenOrigins(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	o := newWidgetOrg(t, s)
	tests := []struct {
		name   string
		origin string
		fields map[string]string
		want   int
	}{
		{"config's origin", shopOrigin, map[string]string{"config_id": o.config}, 200},
		{"config's origin, other spelling", "https://SHOP.example", map[string]string{"config_id": o.config}, 200},
		{"wrong origin", "https://evil.example", map[string]string{"config_id": o.config}, 403},
		{"no origin while a list is set", "", map[string]string{"config_id": o.config}, 403},
		{"organization's list without config", "https://evil.example", nil, 403},
		{"organization's list, allowed", shopOrigin, nil, 200},
		{"assistant other than the config's", shopOrigin, map[string]string{"config_id": o.config, "assistant_id": o.other}, 422},
		{"unknown config", shopOrigin, map[string]string{"config_id": "00000000-0000-4000-8000-000000000000"}, 422},
		{"short visitor key", shopOrigin, map[string]string{"visitor_key": "short"}, 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := o.mint(t, s, tt.origin, tt.fields); r.Status != tt.want {
				t.Errorf("status = %d, want %d; body %s", r.Status, tt.want, r.Body)
			}
		})
	}

	// The claims name organization, client, assistant, config, origin, a
	// visitor binding and a unique id.
	a1, a2 := o.token(t, s, visitorA), o.token(t, s, visitorA)
	c1, c2 := claimsOf(t, a1), claimsOf(t, a2)
	want := map[string]any{"org": o.OrgID.String(), "sub": o.ClientID, "assistant": o.assistant,
		"config": o.config, "origin": shopOrigin, "scope": "widget", "iss": "companin"}
	for k, v := range want {
		if c1[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c1[k], v)
		}
	}
	if c1["jti"] == "" || c1["jti"] == c2["jti"] {
		t.Errorf("jti %v and %v: want unique ids", c1["jti"], c2["jti"])
	}
	if c1["visitor"] == "" || c1["visitor"] != c2["visitor"] {
		t.Errorf("visitor %v and %v: want the same binding for the same visitor key", c1["visitor"], c2["visitor"])
	}
	if b := claimsOf(t, o.token(t, s, visitorB)); b["visitor"] == c1["visitor"] {
		t.Error("two visitor keys share a binding")
	}
	if strings.Contains(a1, visitorA) || strings.Contains(fmt.Sprint(c1), visitorA) {
		t.Error("the token carries the visitor key itself")
	}
}

func TestWidgetTokenRefusals(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	o := newWidgetOrg(t, s)
	tokA := o.token(t, s, visitorA)
	r := s.do(t, request{method: "POST", path: "/api/v1/sessions", header: fromShop(tokA),
		body: fmt.Sprintf(`{"assistant_id":%q,"visitor_id":"v-1","metadata":{"page":"/"}}`, o.assistant)})
	wantStatus(t, r, 201)
	session := r.data(t)["id"].(string)
	if md := r.data(t)["metadata"].(map[string]any); md["widget_visitor"] != claimsOf(t, tokA)["visitor"] || md["page"] != "/" {
		t.Errorf("session metadata = %v, want the caller's plus the visitor binding", md)
	}
	sessionRoutes := []request{
		{method: "GET", path: "/api/v1/sessions/" + session},
		{method: "GET", path: "/api/v1/sessions/" + session + "/messages"},
		{method: "POST", path: "/api/v1/sessions/" + session + "/messages", body: `{"content":"hello"}`},
		{method: "POST", path: "/api/v1/sessions/" + session + "/end"},
	}
	before := s.eventCount(t)

	t.Run("another visitor's session is not found", func(t *testing.T) {
		tokB := o.token(t, s, visitorB)
		r := o.mint(t, s, shopOrigin, map[string]string{"config_id": o.config}) // no key: a random binding
		var anon struct{ Token string }
		mustJSON(t, r.Body, &anon)
		for _, tok := range []string{tokB, anon.Token} {
			for _, rt := range sessionRoutes {
				rt.header = fromShop(tok)
				if got := s.do(t, rt); got.Status != http.StatusNotFound {
					t.Errorf("%s %s with another visitor's token: %d %s, want 404", rt.method, rt.path, got.Status, got.Body)
				}
			}
		}
		// Claiming the binding in metadata does not help: it is replaced.
		r = s.do(t, request{method: "POST", path: "/api/v1/sessions", header: fromShop(tokB),
			body: fmt.Sprintf(`{"assistant_id":%q,"metadata":{"widget_visitor":%q}}`, o.assistant, claimsOf(t, tokA)["visitor"])})
		wantStatus(t, r, 201)
		if got := r.data(t)["metadata"].(map[string]any)["widget_visitor"]; got != claimsOf(t, tokB)["visitor"] {
			t.Errorf("forged binding kept: %v", got)
		}
	})

	t.Run("an expired token", func(t *testing.T) {
		c := claimsOf(t, tokA)
		past := time.Now().Add(-2 * time.Hour)
		expired := sign(t, s, jwt.MapClaims{"org": c["org"], "scope": "widget", "sub": c["sub"], "visitor": c["visitor"],
			"origin": c["origin"], "iss": "companin", "aud": "companin-widget", "jti": "x",
			"iat": past.Unix(), "nbf": past.Unix(), "exp": past.Add(time.Hour).Unix()})
		if got := s.do(t, request{method: "GET", path: "/api/v1/sessions/" + session, header: fromShop(expired)}); got.Status != 401 {
			t.Errorf("expired token: %d %s, want 401", got.Status, got.Body)
		}
	})

	t.Run("tampered claims", func(t *testing.T) {
		parts := strings.Split(tokA, ".")
		tamper := func(change func(map[string]any)) string {
			c := claimsOf(t, tokA)
			change(c)
			raw, _ := json.Marshal(c)
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2]
		}
		tokB := o.token(t, s, visitorB)
		for name, tok := range map[string]string{
			"visitor":      tamper(func(c map[string]any) { c["visitor"] = claimsOf(t, tokB)["visitor"] }),
			"expiry":       tamper(func(c map[string]any) { c["exp"] = time.Now().Add(24 * time.Hour).Unix() }),
			"origin":       tamper(func(c map[string]any) { c["origin"] = "https://evil.example" }),
			"organization": tamper(func(c map[string]any) { c["org"] = "00000000-0000-4000-8000-000000000001" }),
			"other's sig":  parts[0] + "." + parts[1] + "." + strings.Split(tokB, ".")[2],
		} {
			if got := s.do(t, request{method: "GET", path: "/api/v1/sessions/" + session, header: fromShop(tok)}); got.Status != 401 {
				t.Errorf("tampered %s: %d %s, want 401", name, got.Status, got.Body)
			}
		}
		// A token signed by the server but without a visitor binding (or
		// scope) is not a widget token.
		c := claimsOf(t, tokA)
		delete(c, "visitor")
		if got := s.do(t, request{method: "GET", path: "/api/v1/sessions/" + session, header: fromShop(sign(t, s, jwt.MapClaims(c)))}); got.Status != 401 {
			t.Errorf("token without a visitor binding: %d, want 401", got.Status)
		}
	})

	t.Run("token from another origin", func(t *testing.T) {
		h := fromShop(tokA)
		h["Origin"] = "https://evil.example"
		if got := s.do(t, request{method: "GET", path: "/api/v1/sessions/" + session, header: h}); got.Status != 401 {
			t.Errorf("token used by another site: %d %s, want 401", got.Status, got.Body)
		}
	})

	t.Run("token on API-key routes", func(t *testing.T) {
		for _, rt := range []request{
			{method: "GET", path: "/api/v1/assistants"},
			{method: "GET", path: "/api/v1/knowledge"},
			{method: "GET", path: "/api/v1/widget-configs"},
			{method: "PATCH", path: "/api/v1/widget-configs/" + o.config, body: `{"allowed_origins":[]}`},
			{method: "GET", path: "/api/v1/conversations"},
		} {
			rt.header = fromShop(tokA)
			if got := s.do(t, rt); got.Status != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", rt.method, rt.path, got.Status)
			}
		}
	})

	t.Run("token bound to another assistant", func(t *testing.T) {
		r := s.do(t, request{method: "POST", path: "/api/v1/sessions", header: fromShop(tokA), body: fmt.Sprintf(`{"assistant_id":%q}`, o.other)})
		if r.Status != http.StatusForbidden {
			t.Errorf("session with another assistant: %d %s, want 403", r.Status, r.Body)
		}
	})

	t.Run("another widget config", func(t *testing.T) {
		if r := s.do(t, request{method: "GET", path: "/api/v1/widget-configs/" + o.otherConfig, header: fromShop(tokA)}); r.Status != 404 {
			t.Errorf("other config: %d, want 404", r.Status)
		}
	})

	if after := s.eventCount(t); after != before+1 { // the one session visitor B started
		t.Errorf("refused requests appended %d events", after-before-1)
	}

	t.Run("the same visitor keeps its sessions", func(t *testing.T) {
		// A new token for the same key (a refresh or a reload) and a token
		// minted by presenting the old one both reach the session.
		fresh := o.token(t, s, visitorA)
		r := s.do(t, request{method: "POST", path: "/api/v1/auth/widget-token", header: fromShop(tokA),
			body: fmt.Sprintf(`{"client_id":%q,"config_id":%q}`, o.ClientID, o.config)})
		wantStatus(t, r, 200)
		var carried struct{ Token string }
		mustJSON(t, r.Body, &carried)
		for name, tok := range map[string]string{"same key": fresh, "presented token": carried.Token} {
			if got := s.do(t, request{method: "GET", path: "/api/v1/sessions/" + session + "/messages", header: fromShop(tok)}); got.Status != 200 {
				t.Errorf("%s: %d %s, want 200", name, got.Status, got.Body)
			}
		}
		// The API key reaches it too.
		if got := s.do(t, request{method: "GET", path: "/api/v1/sessions/" + session, header: o.headers()}); got.Status != 200 {
			t.Errorf("api key: %d", got.Status)
		}
	})

	t.Run("idempotency keys are per visitor", func(t *testing.T) {
		h := fromShop(tokA)
		h["Idempotency-Key"] = "start-1"
		a := s.do(t, request{method: "POST", path: "/api/v1/sessions", header: h, body: fmt.Sprintf(`{"assistant_id":%q}`, o.assistant)})
		wantStatus(t, a, 201)
		h = fromShop(o.token(t, s, visitorB))
		h["Idempotency-Key"] = "start-1"
		b := s.do(t, request{method: "POST", path: "/api/v1/sessions", header: h, body: fmt.Sprintf(`{"assistant_id":%q}`, o.assistant)})
		wantStatus(t, b, 201)
		if a.data(t)["id"] == b.data(t)["id"] {
			t.Error("visitor B's request with A's key answered A's session")
		}
	})

	t.Run("a revoked client's tokens stop working", func(t *testing.T) {
		tok := o.token(t, s, visitorA)
		res, err := s.app.orgs.RevokeClient(context.Background(), commands.Meta{OrganizationID: o.OrgID, Actor: "test"}, o.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.app.progress.WaitFor(wctx, projections.Accounts, res.Position); err != nil {
			t.Fatal(err)
		}
		if got := s.do(t, request{method: "GET", path: "/api/v1/sessions/" + session, header: fromShop(tok)}); got.Status != 401 {
			t.Errorf("token of a revoked client: %d, want 401", got.Status)
		}
	})
}

func TestWidgetRateLimits(t *testing.T) {
	cfg := testConfig()
	cfg.WidgetIPLimit = 4
	s := startServer(t, cfg, nil)
	o := newWidgetOrg(t, s)
	var statuses []int
	for range 6 {
		statuses = append(statuses, o.mint(t, s, shopOrigin, map[string]string{"config_id": o.config}).Status)
	}
	if fmt.Sprint(statuses) != "[200 200 200 200 429 429]" {
		t.Errorf("token requests from one address: %v", statuses)
	}
	// The organization's API key is not limited by its visitors' address.
	if r := s.do(t, request{method: "GET", path: "/api/v1/assistants", header: o.headers()}); r.Status != 200 {
		t.Errorf("api key after widget limit: %d", r.Status)
	}

	cfg = testConfig()
	cfg.WidgetClientLimit = 3
	s = startServer(t, cfg, nil)
	o = newWidgetOrg(t, s)
	tok := o.token(t, s, visitorA) // 1
	statuses = nil
	for range 4 {
		statuses = append(statuses, s.do(t, request{method: "GET", path: "/api/v1/widget-configs/" + o.config, header: fromShop(tok)}).Status)
	}
	if fmt.Sprint(statuses) != "[200 200 429 429]" {
		t.Errorf("widget requests of one client: %v", statuses)
	}
	r := s.do(t, request{method: "GET", path: "/api/v1/assistants", header: o.headers()})
	if r.Status != 200 || r.Header.Get("X-RateLimit-Limit") != "1000" {
		t.Errorf("api key after the client's widget limit: %d, limit %s", r.Status, r.Header.Get("X-RateLimit-Limit"))
	}
}

func TestWidgetScript(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	get := func(path string, h map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		out := response{Status: res.StatusCode, Header: res.Header, Body: body}
		if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			mustJSON(t, body, &out.Env)
		}
		validate(t, req, out)
		return res, body
	}
	res, body := get("/widget.js", nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") ||
		!bytes.Equal(body, widget.Script()) || res.Header.Get("ETag") == "" ||
		!strings.Contains(res.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("/widget.js: %d %v", res.StatusCode, res.Header)
	}
	res, body = get("/widget.js", map[string]string{"Accept-Encoding": "gzip, br"})
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %v %v", err, res.Header)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, widget.Script()) {
		t.Error("gzipped script differs")
	}
	t.Logf("widget.js: %d bytes, %d gzipped", len(plain), len(body))
	if len(body) > 30<<10 {
		t.Errorf("widget.js is %d bytes gzipped, want under 30 KB", len(body))
	}
	if res, _ := get("/widget.js", map[string]string{"If-None-Match": res.Header.Get("ETag"), "Accept-Encoding": "gzip"}); res.StatusCode != 304 {
		t.Errorf("revalidation: %d, want 304", res.StatusCode)
	}
	res, _ = get("/widget/"+widget.Version+"/widget.js", nil)
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("versioned: %d %s", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	if res, _ := get("/widget/0123456789ab/widget.js", nil); res.StatusCode != 404 {
		t.Errorf("unknown version: %d", res.StatusCode)
	}
	res, body = get(`/widget/demo?client_id=ck_1&assistant_id=%22%3E%3Cscript%3Ealert(1)%3C/script%3E`, nil)
	if res.StatusCode != 200 || !bytes.Contains(body, []byte(`data-client-id="ck_1"`)) || bytes.Contains(body, []byte("<script>alert")) {
		t.Errorf("demo: %d %s", res.StatusCode, body)
	}
}
