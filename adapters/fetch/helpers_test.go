package fetch

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// victim is a loopback listener that must never see a connection.
type victim struct {
	port     int
	accepted atomic.Int64
}

// newVictim listens on 127.0.0.1 and, where IPv6 works, on [::1] at the
// same port, counting every connection accepted.
func newVictim(t *testing.T) *victim {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	v := &victim{port: ln.Addr().(*net.TCPAddr).Port}
	v.serve(t, ln)
	if ln6, err := net.Listen("tcp6", netip.AddrPortFrom(netip.IPv6Loopback(), uint16(v.port)).String()); err == nil {
		v.serve(t, ln6)
	}
	return v
}

func (v *victim) serve(t *testing.T, ln net.Listener) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			v.accepted.Add(1)
			c.Close()
		}
	}()
}

// serverOn starts handler on addr (such as "127.0.0.2:0").
func serverOn(t *testing.T, addr string, handler http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// allowed is the range the positive tests' servers listen in. 127.0.0.1,
// where the victim listens, stays blocked.
var allowed = netip.MustParsePrefix("127.0.0.2/32")

// testFetcher is a Fetcher for tests: any port (so that the address, not
// the port, is what gets refused), names resolved by the given DNS
// server, and a safety net that fails the test, without connecting,
// should the checks ever let a non-loopback address through: a broken
// check must not send packets to real private ranges.
func testFetcher(t *testing.T, cfg Config, dns string) *Fetcher {
	f := New(cfg)
	f.guard = anyPortGuard()
	f.dialed = func(ap netip.AddrPort) error {
		if !ap.Addr().IsLoopback() {
			t.Errorf("checks let %s through", ap)
			return net.ErrClosed
		}
		return nil
	}
	if dns != "" {
		f.dialer.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", dns)
		}}
	}
	return f
}

// serveDNS answers A and AAAA queries with the addresses of that family
// answer returns for the name (names end in a dot); NXDOMAIN when none.
func serveDNS(t *testing.T, answer func(name string, qtype dnsmessage.Type) []netip.Addr) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var req dnsmessage.Message
			if req.Unpack(buf[:n]) != nil || len(req.Questions) != 1 {
				continue
			}
			q := req.Questions[0]
			resp := dnsmessage.Message{
				Header:    dnsmessage.Header{ID: req.ID, Response: true, Authoritative: true},
				Questions: req.Questions,
			}
			addrs := answer(q.Name.String(), q.Type)
			if len(addrs) == 0 {
				resp.RCode = dnsmessage.RCodeNameError
			}
			for _, a := range addrs {
				h := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}
				switch {
				case a.Is4() && q.Type == dnsmessage.TypeA:
					h.Type = dnsmessage.TypeA
					resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: h, Body: &dnsmessage.AResource{A: a.As4()}})
				case a.Is6() && q.Type == dnsmessage.TypeAAAA:
					h.Type = dnsmessage.TypeAAAA
					resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: h, Body: &dnsmessage.AAAAResource{AAAA: a.As16()}})
				}
			}
			out, err := resp.Pack()
			if err == nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// names answers from a fixed table.
func names(table map[string][]netip.Addr) func(string, dnsmessage.Type) []netip.Addr {
	return func(name string, _ dnsmessage.Type) []netip.Addr { return table[name] }
}

// rebinder answers the first A query for name with first and later ones
// with then: DNS rebinding, where a name that looked harmless points
// inside afterwards.
func rebinder(name string, first, then netip.Addr) func(string, dnsmessage.Type) []netip.Addr {
	var mu sync.Mutex
	served := false
	return func(q string, qtype dnsmessage.Type) []netip.Addr {
		if q != name {
			return nil
		}
		if qtype != dnsmessage.TypeA {
			return []netip.Addr{first} // no IPv6 answer, but the name exists
		}
		mu.Lock()
		defer mu.Unlock()
		if !served {
			served = true
			return []netip.Addr{first}
		}
		return []netip.Addr{then}
	}
}

// within fails the test if d has passed since start.
func within(t *testing.T, start time.Time, d time.Duration) {
	t.Helper()
	if e := time.Since(start); e > d {
		t.Errorf("took %s, want under %s", e, d)
	}
}
