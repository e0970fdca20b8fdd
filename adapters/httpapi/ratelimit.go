package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

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

// rateLimit applies the limit to the caller's organization (or, before
// authentication succeeds, to the client address) and sets the headers.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		bucket := "ip:" + c.RealIP()
		if p := principalOf(c); p.OrganizationID.String() != "00000000-0000-0000-0000-000000000000" {
			bucket = "org:" + p.OrganizationID.String()
		}
		remaining, reset, err := s.limiter.Take(c.Request().Context(), bucket)
		if err != nil {
			return err
		}
		h := c.Response().Header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(s.limiter.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		if remaining < 0 {
			retry := int(time.Until(reset).Seconds()) + 1
			h.Set("Retry-After", strconv.Itoa(max(retry, 1)))
			return newError(http.StatusTooManyRequests, "Rate limit exceeded - retry after the window resets")
		}
		return next(c)
	}
}
