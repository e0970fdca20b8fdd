package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
)

// RateLimiter counts requests per bucket in fixed windows kept in
// PostgreSQL, so the limit holds across every API process. One upsert per
// request; an in-process limiter could not share the count.
type RateLimiter struct {
	pool   *pgxpool.Pool
	limit  int
	window time.Duration
	now    func() time.Time
}

// NewRateLimiter allows limit requests per window per bucket.
func NewRateLimiter(pool *pgxpool.Pool, limit int, window time.Duration, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	return &RateLimiter{pool: pool, limit: limit, window: window, now: now}
}

// Take counts one request in bucket and returns how many are left and when
// the window resets; remaining < 0 means the request is over the limit.
func (r *RateLimiter) Take(ctx context.Context, bucket string) (remaining int, reset time.Time, err error) {
	now := r.now().UTC()
	start := now.Truncate(r.window)
	var hits int
	err = r.pool.QueryRow(ctx, `
		INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1)
		ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1
		RETURNING hits`, bucket, start).Scan(&hits)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("rate limit %s: %w", bucket, err)
	}
	return r.limit - hits, start.Add(r.window), nil
}

// Sweep deletes windows that have ended.
func (r *RateLimiter) Sweep(ctx context.Context) error {
	_, err := r.pool.Exec(ctx, `DELETE FROM rate_limits WHERE window_start < $1`, r.now().UTC().Truncate(r.window))
	return err
}

// WithLimit returns a limiter over the same table and window that allows n
// requests per bucket.
func (r *RateLimiter) WithLimit(n int) *RateLimiter {
	c := *r
	c.limit = n
	return &c
}

// quota is one bucket a request counts against.
type quota struct {
	limiter *RateLimiter
	bucket  string
}

// taken is what counting in a bucket left; the tightest so far is kept on
// the request, so its headers always describe the limit nearest to refusal.
type taken struct {
	limit, remaining int
	reset            time.Time
}

const takenKey = "ratelimit"

// rateLimit applies the limit to the caller's organization (or, before
// authentication succeeds, to the client address) and sets the headers.
// Widget tokens count besides against their client id and their address,
// so one busy site or one noisy visitor cannot spend the organization's
// whole budget.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principalOf(c)
		q := []quota{{s.limiter, "ip:" + c.RealIP()}}
		if p.OrganizationID != uuid.Nil {
			q[0].bucket = "org:" + p.OrganizationID.String()
		}
		if p.Widget {
			q = append(q, quota{s.widgetClientLimiter, "widget-client:" + p.ClientID},
				quota{s.widgetIPLimiter, "widget-ip:" + c.RealIP()})
		}
		if err := s.limit(c, q...); err != nil {
			return err
		}
		return next(c)
	}
}

// rateLimitWidgetIP limits minting widget tokens by the caller's address
// before the body is read; the handler adds the client id and the
// organization once it knows them.
func (s *Server) rateLimitWidgetIP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.limit(c, quota{s.widgetIPLimiter, "widget-ip:" + c.RealIP()}); err != nil {
			return err
		}
		return next(c)
	}
}

// limit counts the request in every bucket, sets the headers of the
// tightest one and refuses the request when any is spent.
func (s *Server) limit(c echo.Context, quotas ...quota) error {
	tight, _ := c.Get(takenKey).(*taken)
	for _, q := range quotas {
		remaining, reset, err := q.limiter.Take(c.Request().Context(), q.bucket)
		if err != nil {
			return err
		}
		if tight == nil || remaining < tight.remaining {
			tight = &taken{limit: q.limiter.limit, remaining: remaining, reset: reset}
		}
	}
	if tight == nil {
		return nil
	}
	c.Set(takenKey, tight)
	h := c.Response().Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(tight.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(tight.remaining, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(tight.reset.Unix(), 10))
	if tight.remaining < 0 {
		retry := int(time.Until(tight.reset).Seconds()) + 1
		h.Set("Retry-After", strconv.Itoa(max(retry, 1)))
		return newError(http.StatusTooManyRequests, "Rate limit exceeded - retry after the window resets")
	}
	return nil
}
