package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// config is everything the binary reads from the environment, loaded once.
type config struct {
	DatabaseURL    string         // DATABASE_URL; empty starts a private PostgreSQL
	DataDir        string         // COMPANIN_DATA_DIR: where the private PostgreSQL lives
	Addr           string         // COMPANIN_ADDR, else ":" + PORT, else ":8080"
	RateLimit      int            // COMPANIN_RATE_LIMIT requests per hour per organization
	ReplyWait      time.Duration  // COMPANIN_REPLY_WAIT
	ProjectionWait time.Duration  // COMPANIN_PROJECTION_WAIT
	CORSOrigins    []string       // COMPANIN_CORS_ORIGINS, comma separated; empty allows all
	API            bool           // COMPANIN_API: serve HTTP
	Workers        bool           // COMPANIN_WORKERS: run projectors and the reply worker
	LogLevel       string         // COMPANIN_LOG_LEVEL: debug, info, warn, error
	ReplyWorkers   int            // COMPANIN_REPLY_WORKERS: concurrent replies in this process
	IndexWorkers   int            // COMPANIN_INDEX_WORKERS: concurrent file/page extractions in this process
	FetchAllow     []netip.Prefix // COMPANIN_FETCH_ALLOW_CIDRS: private ranges knowledge URLs may reach
	MaxUpload      int64          // COMPANIN_MAX_UPLOAD_BYTES
	// Ollama, used when a model is named; otherwise the built-in
	// extractive responder and hashing embedder serve.
	OllamaHost    string // COMPANIN_OLLAMA_HOST, else OLLAMA_HOST, else http://127.0.0.1:11434
	ChatModel     string // COMPANIN_CHAT_MODEL: replies from this Ollama chat model
	EmbedModel    string // COMPANIN_EMBED_MODEL: vectors from this Ollama embedding model
	OllamaNumCtx  int    // COMPANIN_OLLAMA_NUM_CTX
	OllamaPredict int    // COMPANIN_OLLAMA_NUM_PREDICT
	// Widget traffic limits per hour besides the organization's; 0 picks
	// httpapi's defaults (half the organization's limit; 300 per address).
	WidgetClientLimit int // COMPANIN_WIDGET_CLIENT_RATE_LIMIT: widget requests per client id
	WidgetIPLimit     int // COMPANIN_WIDGET_IP_RATE_LIMIT: widget requests per visitor address
}

func loadConfig() (config, error) {
	c := config{
		DatabaseURL: os.Getenv("DATABASE_URL"),
		DataDir:     envOr("COMPANIN_DATA_DIR", ".data/postgres"),
		Addr:        os.Getenv("COMPANIN_ADDR"),
		LogLevel:    envOr("COMPANIN_LOG_LEVEL", "info"),
	}
	if c.Addr == "" {
		c.Addr = ":" + envOr("PORT", "8080")
	}
	var errs []error
	c.RateLimit = envInt("COMPANIN_RATE_LIMIT", 1000, &errs)
	c.ReplyWait = envDuration("COMPANIN_REPLY_WAIT", 20*time.Second, &errs)
	c.ProjectionWait = envDuration("COMPANIN_PROJECTION_WAIT", 5*time.Second, &errs)
	c.ReplyWorkers = envInt("COMPANIN_REPLY_WORKERS", 4, &errs)
	c.OllamaHost = envOr("COMPANIN_OLLAMA_HOST", envOr("OLLAMA_HOST", "http://127.0.0.1:11434"))
	if !strings.Contains(c.OllamaHost, "://") {
		c.OllamaHost = "http://" + c.OllamaHost // OLLAMA_HOST is often host:port
	}
	c.ChatModel = os.Getenv("COMPANIN_CHAT_MODEL")
	c.EmbedModel = os.Getenv("COMPANIN_EMBED_MODEL")
	c.OllamaNumCtx = envInt("COMPANIN_OLLAMA_NUM_CTX", 4096, &errs)
	c.OllamaPredict = envInt("COMPANIN_OLLAMA_NUM_PREDICT", 512, &errs)
	c.IndexWorkers = envInt("COMPANIN_INDEX_WORKERS", 2, &errs)
	c.MaxUpload = int64(envInt("COMPANIN_MAX_UPLOAD_BYTES", 20<<20, &errs))
	if v := os.Getenv("COMPANIN_FETCH_ALLOW_CIDRS"); v != "" {
		for _, s := range strings.Split(v, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				errs = append(errs, fmt.Errorf("COMPANIN_FETCH_ALLOW_CIDRS: %w", err))
				continue
			}
			c.FetchAllow = append(c.FetchAllow, p)
		}
	}
	c.WidgetClientLimit = envInt("COMPANIN_WIDGET_CLIENT_RATE_LIMIT", 0, &errs)
	c.WidgetIPLimit = envInt("COMPANIN_WIDGET_IP_RATE_LIMIT", 0, &errs)
	c.API = envBool("COMPANIN_API", true, &errs)
	c.Workers = envBool("COMPANIN_WORKERS", true, &errs)
	if v := os.Getenv("COMPANIN_CORS_ORIGINS"); v != "" {
		for _, o := range strings.Split(v, ",") {
			c.CORSOrigins = append(c.CORSOrigins, strings.TrimSpace(o))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate reports every problem at once.
func (c config) Validate() error {
	var errs []error
	if c.RateLimit < 1 {
		errs = append(errs, errors.New("COMPANIN_RATE_LIMIT must be at least 1"))
	}
	if c.IndexWorkers < 1 {
		errs = append(errs, errors.New("COMPANIN_INDEX_WORKERS must be at least 1"))
	}
	if c.MaxUpload < 1 {
		errs = append(errs, errors.New("COMPANIN_MAX_UPLOAD_BYTES must be positive"))
	}
	if c.WidgetClientLimit < 0 || c.WidgetIPLimit < 0 {
		errs = append(errs, errors.New("widget rate limits must not be negative"))
	}
	if c.ReplyWorkers < 1 {
		errs = append(errs, errors.New("COMPANIN_REPLY_WORKERS must be at least 1"))
	}
	if c.ReplyWait < 0 || c.ProjectionWait < 0 {
		errs = append(errs, errors.New("waits must not be negative"))
	}
	if !c.API && !c.Workers {
		errs = append(errs, errors.New("COMPANIN_API and COMPANIN_WORKERS are both off: nothing to run"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("COMPANIN_LOG_LEVEL %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int, errs *[]error) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q: not an integer", key, v))
	}
	return n
}

func envDuration(key string, def time.Duration, errs *[]error) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q: not a duration such as 20s", key, v))
	}
	return d
}

func envBool(key string, def bool, errs *[]error) bool {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q: not a boolean", key, v))
	}
	return b
}
