// Package httpapi is the REST API: Echo routes that authenticate callers,
// turn requests into commands and queries, and answer in the envelope.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/companin/companin/adapters/blobstore"
	"github.com/companin/companin/adapters/logctx"
	"github.com/companin/companin/adapters/replystream"
	"github.com/companin/companin/commands"
	"github.com/companin/companin/projections"
	"github.com/companin/companin/retrieval"
)

// Config tunes the API.
type Config struct {
	// BodyLimit caps JSON request bodies.
	BodyLimit string
	// ProjectionWait bounds how long a write waits until the read models
	// show it, so the client's next read sees its own write.
	ProjectionWait time.Duration
	// ReplyWait bounds how long sending a message waits for the reply
	// before answering 202 with the reply pending.
	ReplyWait time.Duration
	// MaxUpload caps uploaded knowledge files.
	MaxUpload int64
	// AllowedOrigins for CORS; empty allows every origin (the API is
	// authenticated by headers, not cookies).
	AllowedOrigins []string
	// WidgetClientLimit caps requests per hour made with the widget tokens
	// of one client id (default: half the organization's limit, so
	// visitors cannot spend the backend's budget); WidgetIPLimit those from
	// one address with widget tokens, token requests included (default 300).
	WidgetClientLimit int
	WidgetIPLimit     int
}

// Deps are the API's collaborators, all required.
type Deps struct {
	Pool          *pgxpool.Pool
	Queries       *projections.Queries
	Progress      *projections.Progress
	Assistants    *commands.Assistants
	Conversations *commands.Conversations
	Contexts      *commands.Contexts
	Knowledge     *commands.Knowledge
	Widgets       *commands.WidgetConfigs
	Tokens        *Tokens
	Limiter       *RateLimiter
	Retrieval     *retrieval.Engine
	Blobs         *blobstore.Store
	Streams       *replystream.Hub
}

// Server holds the handlers' dependencies.
type Server struct {
	Deps
	cfg     Config
	clients Clients
	tokens  *Tokens
	limiter *RateLimiter
	// widgetClientLimiter and widgetIPLimiter count widget traffic besides
	// the organization's limiter (see rateLimit).
	widgetClientLimiter *RateLimiter
	widgetIPLimiter     *RateLimiter
	echo                *echo.Echo
}

// New builds the Echo application with every route and middleware.
func New(d Deps, cfg Config) *Server {
	if d.Pool == nil || d.Queries == nil || d.Progress == nil || d.Assistants == nil || d.Conversations == nil ||
		d.Contexts == nil || d.Knowledge == nil || d.Widgets == nil || d.Tokens == nil || d.Limiter == nil ||
		d.Retrieval == nil || d.Blobs == nil || d.Streams == nil {
		panic("httpapi: nil dependency")
	}
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "1M"
	}
	if cfg.MaxUpload == 0 {
		cfg.MaxUpload = 20 << 20
	}
	if cfg.ProjectionWait == 0 {
		cfg.ProjectionWait = 5 * time.Second
	}
	if cfg.ReplyWait == 0 {
		cfg.ReplyWait = 20 * time.Second
	}
	if cfg.WidgetClientLimit == 0 {
		cfg.WidgetClientLimit = max(d.Limiter.limit/2, 1)
	}
	if cfg.WidgetIPLimit == 0 {
		cfg.WidgetIPLimit = 300
	}
	s := &Server{Deps: d, cfg: cfg, clients: d.Queries, tokens: d.Tokens, limiter: d.Limiter,
		widgetClientLimiter: d.Limiter.WithLimit(cfg.WidgetClientLimit),
		widgetIPLimiter:     d.Limiter.WithLimit(cfg.WidgetIPLimit)}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler
	// Trust the socket's peer address only; behind a proxy, configure one.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Pre(middleware.RemoveTrailingSlash())
	e.Use(middleware.RequestID())
	e.Use(correlate)
	e.Use(recoverer())
	e.Use(accessLog())
	e.Use(middleware.CORSWithConfig(corsConfig(cfg.AllowedOrigins)))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit:   cfg.BodyLimit,
		Skipper: func(c echo.Context) bool { return c.Path() == filesPath }, // limited by MaxUpload
	}))
	s.echo = e
	s.routes()
	return s
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo exposes the router (for route listings in tests).
func (s *Server) Echo() *echo.Echo { return s.echo }

func (s *Server) routes() {
	e := s.echo
	e.GET("/healthz", func(c echo.Context) error { return ok(c, "OK", map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)

	// The embeddable widget: its script (also at an immutable versioned
	// URL) and a page that shows the tag working.
	e.GET("/widget.js", s.widgetScript)
	e.GET("/widget/:version/widget.js", s.widgetScriptVersion)
	e.GET("/widget/demo", s.widgetDemo)

	v1 := e.Group("/api/v1")
	v1.GET("/openapi.json", serveOpenAPI)
	v1.POST("/auth/widget-token", s.widgetToken, s.rateLimitWidgetIP)

	// Middleware is attached per route, not per group: Echo groups with
	// middleware register catch-all routes that turn 405 into 404.
	authed := routeSet{g: v1, mw: []echo.MiddlewareFunc{s.authenticate, s.rateLimit, requireAuth}}
	api := routeSet{g: v1, mw: []echo.MiddlewareFunc{s.authenticate, s.rateLimit, requireAuth, apiKeyOnly}}

	api.GET("/assistants", s.listAssistants)
	api.POST("/assistants", s.createAssistant)
	api.GET("/assistants/:id", s.getAssistant)
	api.PATCH("/assistants/:id", s.updateAssistant)
	api.DELETE("/assistants/:id", s.deleteAssistant)

	// Widget scope: a widget token may start a session, talk in the
	// sessions it started (see ownThread), read its own widget config and
	// the title and link of a source a reply cited.
	authed.POST("/sessions", s.startSession)
	authed.GET("/sessions/:id", s.getSession)
	authed.GET("/sessions/:id/messages", s.listSessionMessages)
	authed.POST("/sessions/:id/messages", s.sendSessionMessage)
	authed.POST("/sessions/:id/end", s.endSession)
	authed.GET("/widget-configs/:id", s.getWidgetConfig)
	authed.GET("/sources/:id", s.getSource)

	api.GET("/conversations", s.listConversations)
	api.POST("/conversations", s.startConversation)
	api.GET("/conversations/:id", s.getConversation)
	api.GET("/conversations/:id/messages", s.listConversationMessages)
	api.POST("/conversations/:id/messages", s.sendConversationMessage)
	api.POST("/conversations/:id/end", s.endConversation)

	api.POST("/contexts", s.createContext)
	api.GET("/contexts/:ref", s.getContext)
	api.PATCH("/contexts/:ref", s.updateContext)
	api.DELETE("/contexts/:ref", s.deleteContext)

	api.GET("/knowledge", s.listKnowledge)
	api.GET("/knowledge/search", s.searchKnowledge)
	api.POST("/knowledge/qa", s.addQA)
	api.POST("/knowledge/files", s.addFile)
	api.POST("/knowledge/urls", s.addURL)
	api.POST("/knowledge/:id/refresh", s.refreshKnowledge)
	api.GET("/knowledge/:id", s.getKnowledge)
	api.DELETE("/knowledge/:id", s.deleteKnowledge)

	api.GET("/widget-configs", s.listWidgetConfigs)
	api.POST("/widget-configs", s.createWidgetConfig)
	api.PATCH("/widget-configs/:id", s.updateWidgetConfig)
	api.DELETE("/widget-configs/:id", s.deleteWidgetConfig)
}

// routeSet registers routes on a group with a fixed middleware chain.
type routeSet struct {
	g  *echo.Group
	mw []echo.MiddlewareFunc
}

func (r routeSet) GET(path string, h echo.HandlerFunc)    { r.g.GET(path, h, r.mw...) }
func (r routeSet) POST(path string, h echo.HandlerFunc)   { r.g.POST(path, h, r.mw...) }
func (r routeSet) PATCH(path string, h echo.HandlerFunc)  { r.g.PATCH(path, h, r.mw...) }
func (r routeSet) DELETE(path string, h echo.HandlerFunc) { r.g.DELETE(path, h, r.mw...) }

func (s *Server) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.Pool.Ping(ctx); err != nil {
		return &apiError{code: http.StatusServiceUnavailable, detail: "Database unavailable", err: err}
	}
	return ok(c, "Ready", map[string]string{"status": "ready"})
}

func corsConfig(origins []string) middleware.CORSConfig {
	cfg := middleware.CORSConfig{
		AllowMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch,
			http.MethodPut, http.MethodDelete, http.MethodOptions},
		AllowHeaders: []string{"Authorization", "Content-Type", "X-API-Key", "X-API-Secret",
			"Idempotency-Key", "Accept", "X-Request-Id", "Last-Event-ID"},
		ExposeHeaders: []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
			"Retry-After", "X-Request-Id", "Location"},
		AllowCredentials: true,
		MaxAge:           86400,
	}
	if len(origins) == 0 {
		// Reflect the caller's origin: "*" is not allowed with credentials.
		cfg.AllowOriginFunc = func(string) (bool, error) { return true, nil }
	} else {
		cfg.AllowOrigins = origins
	}
	return cfg
}

// correlate gives every request a correlation id (the client's
// X-Correlation-Id when it is a UUID) that its events carry, answers it in
// the same header, and puts both ids on every log line of the request.
func correlate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		corr, err := uuid.Parse(c.Request().Header.Get("X-Correlation-Id"))
		if err != nil {
			corr = uuid.New()
		}
		c.Set(correlationKey, corr)
		c.Response().Header().Set("X-Correlation-Id", corr.String())
		req := c.Request()
		ctx := logctx.With(req.Context(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"correlation_id", corr.String())
		c.SetRequest(req.WithContext(ctx))
		return next(c)
	}
}

const correlationKey = "correlation_id"

// recoverer turns a handler panic into a 500 envelope and a log line; the
// process keeps serving.
func recoverer() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			slog.ErrorContext(c.Request().Context(), "panic in handler", "err", err, "stack", string(stack))
			return err
		},
	})
}

func accessLog() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			req, res := c.Request(), c.Response()
			slog.InfoContext(req.Context(), "request",
				"method", req.Method, "path", req.URL.Path, "status", res.Status,
				"duration_ms", time.Since(start).Milliseconds(), "bytes", res.Size,
				"request_id", res.Header().Get(echo.HeaderXRequestID),
				"organization_id", principalOf(c).OrganizationID)
			return nil
		}
	}
}

func isJSONRequest(c echo.Context) bool {
	return strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON)
}
