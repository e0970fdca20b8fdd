// Package fetch gets web pages for the knowledge base without letting a
// user-supplied URL reach into our own network (SSRF): every address is
// checked when the socket dials, on the IP actually connected to, so DNS
// answers (rebinding included), redirects and odd address spellings can't
// slip past the check. Pages are capped in size and time, and their main
// text is extracted readability-style into an extract.Document.
package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
	"codeberg.org/readeck/go-readability/v2"
	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"

	"github.com/companin/companin/adapters/extract"
)

// Config sets the limits of a Fetcher. Zero fields take the defaults below.
type Config struct {
	// MaxBytes caps the (decompressed) response body.
	MaxBytes int64
	// Timeout caps a whole fetch: connecting, redirects, a slowly dripping
	// body and extraction.
	Timeout time.Duration
	// MaxRedirects caps redirects followed; negative follows none.
	MaxRedirects int
	UserAgent    string
	// AllowCIDRs are ranges to allow although they are not public, on any
	// port: for tests and intranet deployments.
	AllowCIDRs []netip.Prefix
}

// Defaults for zero Config fields.
const (
	DefaultMaxBytes     = 5 << 20
	DefaultTimeout      = 20 * time.Second
	DefaultMaxRedirects = 5
	DefaultUserAgent    = "companin-fetch/1.0"
)

func (c Config) withDefaults() Config {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRedirects == 0 {
		c.MaxRedirects = DefaultMaxRedirects
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	return c
}

// Page is a fetched page.
type Page struct {
	URL         string // after redirects
	Title       string
	ContentType string // media type, without parameters
	Document    extract.Document
}

// Kinds of failure, for errors.Is. Fetch returns *Error, whose message is
// the reason to show the user (Kind extract.ErrEmpty for a page without
// text), or the caller's context error.
var (
	ErrURL              = errors.New("URL not allowed")
	ErrBlocked          = errors.New("address not allowed")
	ErrTooManyRedirects = errors.New("too many redirects")
	ErrTooLarge         = errors.New("page too large")
	ErrTimeout          = errors.New("timed out")
	ErrContentType      = errors.New("unsupported content type")
	ErrStatus           = errors.New("unsuccessful HTTP status")
	ErrUnreachable      = errors.New("page unreachable")
)

// Error is a failed fetch: Reason is written for the user who added the
// URL, Kind is one of the sentinels above.
type Error struct {
	Kind   error
	Reason string
}

func (e *Error) Error() string { return e.Reason }
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// Fetcher fetches pages; it is safe for concurrent use.
type Fetcher struct {
	cfg    Config
	client *http.Client
	dialer *net.Dialer
	// guard decides on addresses outside AllowCIDRs. code.dny.dev/ssrf is a
	// small, maintained net.Dialer.Control guard that denies every IANA
	// special-purpose IPv4 range and all IPv6 outside global unicast
	// (loopback, ULA, link-local, IPv4-mapped, NAT64 64:ff9b::/96 and
	// 64:ff9b:1::/48, multicast) plus 6to4 and Teredo, and allows only ports
	// 80 and 443.
	guard *ssrf.Guardian
	// dialed, when set (by tests), is the last word on an address the checks
	// let through, before the connection is made.
	dialed func(netip.AddrPort) error
}

// New returns a Fetcher for cfg.
func New(cfg Config) *Fetcher {
	cfg = cfg.withDefaults()
	f := &Fetcher{cfg: cfg, guard: ssrf.New()}
	f.dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: f.control}
	transport := &http.Transport{
		// No proxy, whatever HTTP_PROXY says: a proxy would make the
		// connection for us, past the dial-time check.
		Proxy:                  nil,
		DialContext:            f.dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           16,
		IdleConnTimeout:        30 * time.Second,
	}
	f.client = &http.Client{Transport: transport, CheckRedirect: f.checkRedirect}
	return f
}

// control runs after the socket is created and before it connects, with
// the IP it will connect to: the one place a check can't be raced.
func (f *Fetcher) control(network, address string, c syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fail(ErrBlocked, "connection to %s refused", address)
	}
	ip := ap.Addr().Unmap()
	allowed := false
	for _, p := range f.cfg.AllowCIDRs {
		if p.Contains(ip) {
			allowed = true
			break
		}
	}
	if !allowed {
		if err := f.guard.Safe(network, address, c); err != nil {
			if errors.Is(err, ssrf.ErrProhibitedPort) {
				return fail(ErrBlocked, "connection to port %d refused: only ports 80 and 443 are allowed", ap.Port())
			}
			return fail(ErrBlocked, "connection to %s refused: not a public internet address", ip)
		}
	}
	if f.dialed != nil {
		return f.dialed(netip.AddrPortFrom(ip, ap.Port()))
	}
	return nil
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > max(f.cfg.MaxRedirects, 0) {
		return fail(ErrTooManyRedirects, "more than %d redirects", max(f.cfg.MaxRedirects, 0))
	}
	return checkURL(req.URL)
}

// checkURL refuses what the dial-time check can't see: other schemes,
// credentials, and numeric hosts spelled in ways some resolvers read as
// IPv4 (2130706433, 0x7f.1, 017700000001, 127.1) and others as names.
func checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fail(ErrURL, "only http and https URLs can be fetched")
	}
	if u.User != nil {
		return fail(ErrURL, "URLs with a user name or password are not allowed")
	}
	host := u.Hostname()
	if host == "" {
		return fail(ErrURL, "URL has no host")
	}
	if _, err := netip.ParseAddr(host); err != nil && numericHost(host) {
		return fail(ErrURL, "host %q is not a valid IP address or name", host)
	}
	return nil
}

// numericHost: every label is a number in decimal, octal or hex, as the
// WHATWG URL parser (and inet_aton) would read an IPv4 address.
func numericHost(host string) bool {
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		digits := label
		hex := false
		if len(label) >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X') {
			digits, hex = label[2:], true
		}
		if label == "" {
			return false
		}
		for _, c := range digits {
			isDigit := c >= '0' && c <= '9'
			isHex := hex && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')
			if !isDigit && !isHex {
				return false
			}
		}
	}
	return true
}

// Fetch gets rawURL and extracts its main text.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (Page, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return Page{}, fail(ErrURL, "not a valid URL")
	}
	if err := checkURL(u); err != nil {
		return Page{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Page{}, fail(ErrURL, "not a valid URL")
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1")
	resp, err := f.client.Do(req)
	if err != nil {
		return Page{}, f.explain(ctx, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Page{}, fail(ErrStatus, "page returned HTTP %d", resp.StatusCode)
	}
	header := resp.Header.Get("Content-Type")
	mediaType, _, _ := mime.ParseMediaType(header)
	if header != "" && !accepted(mediaType) {
		return Page{}, fail(ErrContentType, "content of type %s is not supported (only HTML and plain text)", mediaType)
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return Page{}, f.tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return Page{}, f.explain(ctx, err)
	}
	if int64(len(body)) > f.cfg.MaxBytes {
		return Page{}, f.tooLarge()
	}
	if header == "" {
		header = http.DetectContentType(body)
		mediaType, _, _ = mime.ParseMediaType(header)
		if !accepted(mediaType) {
			return Page{}, fail(ErrContentType, "content of type %s is not supported (only HTML and plain text)", mediaType)
		}
	}
	// To UTF-8, by the Content-Type charset, a byte order mark or <meta>.
	r, err := charset.NewReader(bytes.NewReader(body), header)
	if err == nil {
		body, err = io.ReadAll(r)
	}
	if err != nil {
		return Page{}, fail(ErrContentType, "page has an unknown character encoding")
	}

	page := Page{URL: resp.Request.URL.String(), ContentType: mediaType}
	lim := extract.Limits{MaxInput: 4*f.cfg.MaxBytes + 1<<20, MaxOutput: int(f.cfg.MaxBytes), Timeout: remaining(ctx)}
	if mediaType == "text/plain" {
		page.Document, err = extract.Extract(ctx, extract.Text, body, lim)
	} else {
		page.Document, err = readable(ctx, body, resp.Request.URL, lim)
	}
	switch {
	case errors.Is(err, extract.ErrEmpty):
		return Page{}, &Error{Kind: extract.ErrEmpty, Reason: "page contains no text"}
	case errors.Is(err, extract.ErrTimeout):
		return Page{}, fail(ErrTimeout, "page took longer than %s to fetch and read", f.cfg.Timeout)
	case err != nil:
		return Page{}, err
	}
	page.Title = page.Document.Title
	return page, nil
}

func accepted(mediaType string) bool {
	switch mediaType {
	case "text/html", "application/xhtml+xml", "text/plain":
		return true
	}
	return false
}

func (f *Fetcher) tooLarge() error {
	return fail(ErrTooLarge, "page larger than %d bytes", f.cfg.MaxBytes)
}

func remaining(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return extract.DefaultTimeout
}

// explain turns a client error into a reason.
func (f *Fetcher) explain(ctx context.Context, err error) error {
	var fe *Error
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fail(ErrTimeout, "page took longer than %s to fetch", f.cfg.Timeout)
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &dnsErr):
		return fail(ErrUnreachable, "host %s not found", dnsErr.Name)
	}
	return fail(ErrUnreachable, "page could not be fetched")
}

// readable extracts the main text of an HTML page with go-readability (a
// maintained port of Mozilla's Readability.js, the reader view's
// algorithm), then reads the article's HTML into sections with extract.
// A page Readability finds no article in is read whole, less its
// navigation and page furniture.
func readable(ctx context.Context, body []byte, pageURL *url.URL, lim extract.Limits) (extract.Document, error) {
	type result struct {
		title   string
		article []byte
	}
	done := make(chan result, 1)
	// Readability can't be interrupted; it runs aside so the deadline holds,
	// on a body already capped at MaxBytes.
	go func() {
		var res result
		defer func() {
			recover() // a Readability bug on odd markup: read the page whole
			done <- res
		}()
		doc, err := html.Parse(bytes.NewReader(body))
		if err != nil {
			return
		}
		p := readability.NewParser()
		p.MaxElemsToParse = 100_000
		article, err := p.ParseAndMutate(doc, pageURL)
		if err != nil {
			return
		}
		res.title = strings.TrimSpace(article.Title())
		var buf bytes.Buffer
		if article.Node != nil && article.RenderHTML(&buf) == nil {
			res.article = buf.Bytes()
		}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		return extract.Document{}, fail(ErrTimeout, "page took too long to read")
	}

	var doc extract.Document
	err := errors.New("no article")
	if res.article != nil {
		doc, err = extract.Extract(ctx, extract.HTML, res.article, lim)
	}
	if err != nil && !errors.Is(err, extract.ErrOutputLimit) {
		// body is UTF-8 by now, which extract takes as it is, whatever
		// its <meta charset> says.
		doc, err = extract.Extract(ctx, extract.HTML, body, lim)
	}
	if res.title != "" {
		doc.Title = res.title
	}
	return doc, err
}
