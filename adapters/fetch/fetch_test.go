package fetch

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"code.dny.dev/ssrf"

	"github.com/companin/companin/adapters/extract"
)

func anyPortGuard() *ssrf.Guardian { return ssrf.New(ssrf.WithAnyPort()) }

// Every blocked form is refused, and the loopback victim sees no connection.
func TestFetchRefuses(t *testing.T) {
	v := newVictim(t)
	p := v.port
	dns := serveDNS(t, names(map[string][]netip.Addr{
		"intranet.test.": {netip.MustParseAddr("127.0.0.1")},
		"v6.test.":       {netip.MustParseAddr("::1")},
		"mapped.test.":   {netip.MustParseAddr("::ffff:127.0.0.1")},
	}))
	redirector := serverOn(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	redirect := func(to string) string { return redirector.URL + "/?to=" + to }
	f := testFetcher(t, Config{Timeout: 5 * time.Second, AllowCIDRs: []netip.Prefix{allowed}}, dns)

	tests := []struct {
		url  string
		want error
	}{
		{fmt.Sprintf("http://127.0.0.1:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://127.0.0.3:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://localhost:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://LOCALHOST:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://[::1]:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://0.0.0.0:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://[::]:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://10.0.0.1:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://172.16.5.4:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://192.168.1.1:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://100.64.0.1:%d/", p), ErrBlocked},
		{"http://169.254.169.254/latest/meta-data/", ErrBlocked},
		{fmt.Sprintf("http://224.0.0.1:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://255.255.255.255:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://[::ffff:a9fe:a9fe]:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://[64:ff9b::7f00:1]:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://[64:ff9b:1::a00:1]:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://[2002:7f00:1::1]:%d/", p), ErrBlocked},      // 6to4 of 127.0.0.1
		{fmt.Sprintf("http://[2001:0:4136:e378::1]:%d/", p), ErrBlocked}, // Teredo
		{fmt.Sprintf("http://[fc00::1]:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://[fd12:3456::1]:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://[fe80::1]:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://[ff02::1]:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://intranet.test:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://v6.test:%d/", p), ErrBlocked},
		{fmt.Sprintf("http://mapped.test:%d/", p), ErrBlocked},
		{redirect(fmt.Sprintf("http://127.0.0.1:%d/", p)), ErrBlocked},
		{redirect(fmt.Sprintf("http://localhost:%d/", p)), ErrBlocked},
		{redirect(fmt.Sprintf("http://intranet.test:%d/", p)), ErrBlocked},
		{redirect("http://169.254.169.254/"), ErrBlocked},

		{fmt.Sprintf("http://2130706433:%d/", p), ErrURL},
		{fmt.Sprintf("http://0x7f.1:%d/", p), ErrURL},
		{fmt.Sprintf("http://0x7f000001:%d/", p), ErrURL},
		{fmt.Sprintf("http://017700000001:%d/", p), ErrURL},
		{fmt.Sprintf("http://0177.0.0.1:%d/", p), ErrURL},
		{fmt.Sprintf("http://127.1:%d/", p), ErrURL},
		{fmt.Sprintf("http://127.0.0.1.:%d/", p), ErrURL},
		{fmt.Sprintf("http://user:pw@127.0.0.2:%d/", p), ErrURL},
		{fmt.Sprintf("http://127.0.0.1:%d@127.0.0.2/", p), ErrURL},
		{"file:///etc/passwd", ErrURL},
		{"ftp://127.0.0.2/", ErrURL},
		{"gopher://127.0.0.1:70/", ErrURL},
		{"//127.0.0.1/", ErrURL},
		{"http:///nohost", ErrURL},
		{redirect("file:///etc/passwd"), ErrURL},
		{redirect(fmt.Sprintf("http://2130706433:%d/", p)), ErrURL},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := f.Fetch(context.Background(), tt.url)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Errorf("err = %#v, want an *Error with a reason", err)
			}
		})
	}

	// Without test settings: the default port rule refuses too, and the
	// metadata address is refused on its own port.
	def := New(Config{Timeout: 5 * time.Second})
	def.dialed = testFetcher(t, Config{}, "").dialed
	for _, u := range []string{fmt.Sprintf("http://127.0.0.1:%d/", p), "http://169.254.169.254/", "http://[::1]:80/"} {
		if _, err := def.Fetch(context.Background(), u); !errors.Is(err, ErrBlocked) {
			t.Errorf("default fetcher: %s: err = %v, want %v", u, err, ErrBlocked)
		}
	}

	time.Sleep(50 * time.Millisecond) // let a stray connection be counted
	if n := v.accepted.Load(); n != 0 {
		t.Errorf("victim accepted %d connections, want 0", n)
	}
}

// A name that first resolves to an allowed address and then to a blocked
// one is refused the second time: the check is on the address dialed, not
// on an earlier lookup.
func TestFetchRebinding(t *testing.T) {
	v := newVictim(t)
	srv := serverOn(t, fmt.Sprintf("127.0.0.2:%d", v.port), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "harmless")
	}))
	_ = srv
	dns := serveDNS(t, rebinder("rebind.test.", netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")))
	f := testFetcher(t, Config{Timeout: 5 * time.Second, AllowCIDRs: []netip.Prefix{allowed}}, dns)
	u := fmt.Sprintf("http://rebind.test:%d/", v.port)

	if _, err := f.Fetch(context.Background(), u); err != nil {
		t.Fatalf("first fetch: %v", err)
	}
	f.client.CloseIdleConnections()
	if _, err := f.Fetch(context.Background(), u); !errors.Is(err, ErrBlocked) {
		t.Errorf("second fetch: err = %v, want %v", err, ErrBlocked)
	}
	if n := v.accepted.Load(); n != 0 {
		t.Errorf("victim accepted %d connections, want 0", n)
	}
}

const article = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>How to return an order | Example Shop</title>
<style>body{font-family:sans-serif}</style><script>trackVisitor("boilerplate-script")</script></head>
<body>
<header><a href="/">Example Shop</a>
<nav><ul><li><a href="/">Home</a></li><li><a href="/catalog">Catalog boilerplate</a></li><li><a href="/contact">Contact</a></li></ul></nav></header>
<main><article>
<h1>How to return an order</h1>
<p>Returning an order is free within thirty days of delivery. Pack the items in their original box, print the return label from your account page and drop the parcel at any post office. We refund the full amount as soon as the parcel reaches our warehouse.</p>
<h2>Damaged items</h2>
<p>If an item arrived damaged, do not send it back right away. Take a photo of the damage and of the box, and send both to our support team. We will send a replacement at our cost, usually within two working days, and tell you what to do with the damaged item.</p>
<p>Items that broke after normal use are covered by the two-year warranty. Keep the receipt: it is your proof of purchase, and the warranty desk will ask for it before they can repair or replace anything.</p>
<h2>Refunds</h2>
<p>Refunds go back to the payment method you used. Card payments take three to five working days to appear on your statement; bank transfers can take a little longer, depending on your bank and the day of the week.</p>
</article></main>
<aside><h3>Related boilerplate</h3><ul><li><a href="/a">Shipping boilerplate</a></li><li><a href="/b">Gift cards</a></li></ul></aside>
<footer><p>Copyright boilerplate Example Shop. <a href="/privacy">Privacy policy</a></p></footer>
</body></html>`

func TestFetch(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/article", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, article)
	})
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		if n == 0 {
			http.Redirect(w, r, "/article", http.StatusMovedPermanently)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", fmt.Sprint(2<<20))
		w.Write(bytes.Repeat([]byte("<p>x</p>"), (2<<20)/8))
	})
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for range 64 {
			if _, err := w.Write(bytes.Repeat([]byte("<p>x</p>"), 4096)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/gzip-bomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gzipBomb(100))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for range 100 {
			if _, err := w.Write([]byte("<p>drip</p>")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("/slow-headers", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	for path, ct := range map[string]string{"/pdf": "application/pdf", "/png": "image/png", "/json": "application/json"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			fmt.Fprint(w, "%PDF-1.4 not a page")
		})
	}
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "Plain notes.\n\nSecond paragraph.")
	})
	mux.HandleFunc("/latin1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		fmt.Fprint(w, "<title>Caf\xe9</title><p>Cr\xe8me br\xfbl\xe9e</p>")
	})
	mux.HandleFunc("/untyped", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // no sniffing by the server
		fmt.Fprint(w, "<!DOCTYPE html><title>Untyped</title><p>Sniffed as HTML.</p>")
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body><nav>menu</nav></body></html>")
	})
	srv := serverOn(t, "127.0.0.2:0", mux)
	f := testFetcher(t, Config{MaxBytes: 1 << 20, Timeout: 2 * time.Second, MaxRedirects: 3, AllowCIDRs: []netip.Prefix{allowed}}, "")

	t.Run("article", func(t *testing.T) {
		page, err := f.Fetch(context.Background(), srv.URL+"/hop/2")
		if err != nil {
			t.Fatal(err)
		}
		if want := srv.URL + "/article"; page.URL != want {
			t.Errorf("URL = %q, want %q", page.URL, want)
		}
		if page.Title != "How to return an order" || page.ContentType != "text/html" {
			t.Errorf("Title, ContentType = %q, %q", page.Title, page.ContentType)
		}
		text := fmt.Sprint(page.Document.Sections)
		for _, want := range []string{"free within thirty days", "Take a photo of the damage", "Keep the receipt", "Card payments take"} {
			if !strings.Contains(text, want) {
				t.Errorf("text lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, "boilerplate") {
			t.Errorf("text has boilerplate:\n%s", text)
		}
		var headings []string
		for _, s := range page.Document.Sections {
			headings = append(headings, s.Heading)
		}
		if !strings.Contains(strings.Join(headings, "|"), "Damaged items|Refunds") {
			t.Errorf("headings = %q, want Damaged items and Refunds among them", headings)
		}
	})

	t.Run("plain text", func(t *testing.T) {
		page, err := f.Fetch(context.Background(), srv.URL+"/text")
		if err != nil {
			t.Fatal(err)
		}
		want := []extract.Section{{Text: "Plain notes.\n\nSecond paragraph."}}
		if fmt.Sprint(page.Document.Sections) != fmt.Sprint(want) || page.ContentType != "text/plain" {
			t.Errorf("got %q %v, want text/plain %v", page.ContentType, page.Document.Sections, want)
		}
	})

	t.Run("charset", func(t *testing.T) {
		page, err := f.Fetch(context.Background(), srv.URL+"/latin1")
		if err != nil {
			t.Fatal(err)
		}
		if page.Title != "Café" || !strings.Contains(fmt.Sprint(page.Document.Sections), "Crème brûlée") {
			t.Errorf("got %q %v", page.Title, page.Document.Sections)
		}
	})

	t.Run("no content type", func(t *testing.T) {
		page, err := f.Fetch(context.Background(), srv.URL+"/untyped")
		if err != nil {
			t.Fatal(err)
		}
		if page.Title != "Untyped" || page.ContentType != "text/html" {
			t.Errorf("got %q %q", page.Title, page.ContentType)
		}
	})

	failures := []struct {
		path string
		want error
		in   time.Duration
	}{
		{"/big", ErrTooLarge, time.Second},
		{"/big-chunked", ErrTooLarge, time.Second},
		{"/gzip-bomb", ErrTooLarge, 2 * time.Second},
		{"/slow", ErrTimeout, 3 * time.Second},
		{"/slow-headers", ErrTimeout, 3 * time.Second},
		{"/loop", ErrTooManyRedirects, time.Second},
		{"/hop/3", ErrTooManyRedirects, time.Second},
		{"/pdf", ErrContentType, time.Second},
		{"/png", ErrContentType, time.Second},
		{"/json", ErrContentType, time.Second},
		{"/missing", ErrStatus, time.Second},
		{"/empty", extract.ErrEmpty, time.Second},
	}
	for _, tt := range failures {
		t.Run(tt.path, func(t *testing.T) {
			start := time.Now()
			_, err := f.Fetch(context.Background(), srv.URL+tt.path)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			within(t, start, tt.in)
			t.Log(err)
		})
	}

	t.Run("too large message", func(t *testing.T) {
		_, err := f.Fetch(context.Background(), srv.URL+"/big")
		if want := "page larger than 1048576 bytes"; err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
	})

	t.Run("caller cancels", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := f.Fetch(ctx, srv.URL+"/article"); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func TestFetchIgnoresProxy(t *testing.T) {
	proxied := false
	proxy := serverOn(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied = true
	}))
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	f := testFetcher(t, Config{Timeout: 2 * time.Second, AllowCIDRs: []netip.Prefix{allowed}}, "")
	if _, err := f.Fetch(context.Background(), "http://127.0.0.1:9/"); !errors.Is(err, ErrBlocked) {
		t.Errorf("err = %v, want %v", err, ErrBlocked)
	}
	if proxied {
		t.Error("request went through HTTP_PROXY")
	}
}

// gzipBomb is a gzip member that inflates to n MiB of spaces; its trailer
// is wrong, which a reader notices only at the end it must never reach.
func gzipBomb(n int) []byte {
	var block bytes.Buffer
	w, _ := flate.NewWriter(&block, flate.BestCompression)
	w.Write(bytes.Repeat([]byte(" "), 1<<20))
	w.Flush()
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	for range n {
		out = append(out, block.Bytes()...)
	}
	return append(out, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0)
}
