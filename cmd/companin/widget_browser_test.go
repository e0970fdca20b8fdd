package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromium finds Debian's chromium (scripts/deps installs it); the test
// never downloads a browser.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if testing.Short() {
		t.Skip("SKIPPED: the widget browser test needs chromium, absent here, and -short was given; it runs in make test, where scripts/deps installs chromium")
	}
	t.Fatal("no chromium on PATH: run scripts/deps (or go test -short to skip browser tests)")
	return ""
}

// artifact saves a file under test-artifacts/ at the repository root.
func artifact(t *testing.T, name string, data []byte) {
	t.Helper()
	dir := filepath.Join("..", "..", "test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// COMPANIN_UPDATE_DOCS=1 refreshes the README's screenshot.
	if name == "widget.png" && os.Getenv("COMPANIN_UPDATE_DOCS") == "1" {
		docs := filepath.Join("..", "..", "docs")
		if err := os.MkdirAll(docs, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(docs, "widget.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// hostPage is a website that embeds the widget with the reference's tag.
var hostPage = template.Must(template.New("host").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bike shop</title>
{{if .Hostile}}<style>
  /* Everything a stylesheet can do to elements it reaches. (What applies
     to the page's own ancestors, such as opacity or a filter on body,
     applies to all their content, the widget included: no embed escapes
     that.) */
  *, *::before, *::after { font-family: "Courier New", monospace !important; font-size: 31px !important;
    line-height: 3 !important; letter-spacing: 4px !important; color: #f0f !important; background: #ff0 !important;
    margin: 13px !important; padding: 11px !important; border: 5px dashed #0a0 !important;
    box-sizing: content-box !important; text-transform: uppercase !important; cursor: wait !important;
    z-index: 1 !important; position: relative !important; display: block !important; visibility: visible !important;
    width: auto !important; height: auto !important; max-width: none !important; outline: 4px solid red !important; }
  button, textarea, input, section, div, li, ol, ul, p, a, h2, span, svg, form, header, img {
    all: unset !important; display: inline !important; font-size: 5px !important; }
  script, style, head, title, meta { display: none !important; }
</style>{{end}}
{{if .Flaky}}<script>
  // The first answer to a message is lost on the way back, as on a flaky
  // network: the server has stored the message, the page never hears so.
  window.__dropped = 0;
  const realFetch = window.fetch;
  window.fetch = async (url, opts) => {
    const res = await realFetch(url, opts);
    if (!window.__dropped && opts && opts.method === "POST" && /\/messages$/.test(String(url))) {
      window.__dropped++;
      await res.text();
      throw new TypeError("Failed to fetch");
    }
    return res;
  };
</script>{{end}}
</head><body>
<h1>Bikes and more</h1>
<p id="probe">Welcome to our shop. Ask our assistant anything.</p>
{{range .Instances}}<script src="{{$.API}}/widget.js" data-client-id="{{$.ClientID}}" data-assistant-id="{{$.AssistantID}}" data-config-id="{{$.ConfigID}}" data-instance-id="{{.ID}}"{{if .Locale}} data-locale="{{.Locale}}"{{end}}></script>
{{end}}</body></html>`))

type hostInstance struct{ ID, Locale string }

type hostData struct {
	API, ClientID, AssistantID, ConfigID string
	Hostile, Flaky                       bool
	Instances                            []hostInstance
}

// js wraps an expression with W(id), the shadow root of a widget instance.
func js(expr string) string {
	return `(() => { const W = (id) => { const h = document.querySelector('companin-widget[data-instance-id="' + id + '"]'); return h && h.shadowRoot; }; return (` + expr + `); })()`
}

// TestWidgetInBrowser drives headless Chromium against the real server: a
// shop's page embeds the widget with the reference's tag; a visitor asks,
// the reply streams in with its source linked; a reload keeps the
// history; two instances stay apart; hostile page CSS changes nothing; a
// lost answer is retried without sending the message twice; a phone-sized
// screen gets the whole screen; a site the config does not allow gets a
// clear "unavailable".
func TestWidgetInBrowser(t *testing.T) {
	exe := chromium(t)
	began := time.Now()

	knowledgePage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><head><title>Loyalty programme</title></head><body>
			<article><h1>Loyalty programme</h1>
			<p>Every purchase earns loyalty points. One hundred loyalty points give a ten euro voucher.</p>
			<p>Points expire after two years without purchases.</p></article></body></html>`)
	}))
	defer knowledgePage.Close()

	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "Bike shop")
	h := c.headers()
	r := s.do(t, request{method: "POST", path: "/api/v1/knowledge/urls", header: h,
		body: fmt.Sprintf(`{"url":%q}`, knowledgePage.URL+"/loyalty")})
	wantStatus(t, r, 201)
	urlItem := r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/knowledge/qa", header: h,
		body: `{"question":"Do you deliver on Saturdays?","answer":"Yes, we deliver on Saturdays between 9 and 13."}`})
	wantStatus(t, r, 201)
	qaItem := r.data(t)["id"].(string)
	for _, id := range []string{urlItem, qaItem} {
		if d := s.waitIndexed(t, c, id); d["status"] != "indexed" {
			t.Fatalf("knowledge %s: %v", id, d)
		}
	}
	r = s.do(t, request{method: "POST", path: "/api/v1/assistants", header: h, body: `{"name":"Shop assistant"}`})
	assistant := r.data(t)["id"].(string)

	data := hostData{API: s.URL, ClientID: c.ClientID, AssistantID: assistant}
	serve := func(w http.ResponseWriter, d hostData) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := hostPage.Execute(w, d); err != nil {
			t.Error(err)
		}
	}
	primary := []hostInstance{{ID: "primary-widget"}}
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := data
		d.Instances = primary
		switch r.URL.Path {
		case "/hostile":
			d.Hostile = true
		case "/two":
			d.Instances = append(primary, hostInstance{ID: "second-widget", Locale: "nl"})
		case "/flaky":
			d.Flaky, d.Instances = true, []hostInstance{{ID: "flaky-widget"}}
		}
		serve(w, d)
	}))
	defer host.Close()
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := data
		d.Instances = primary
		serve(w, d)
	}))
	defer elsewhere.Close()

	r = s.do(t, request{method: "POST", path: "/api/v1/widget-configs", header: h, body: map[string]any{
		"assistant_id": assistant, "title": "Bike shop help", "greeting": "Hi! Ask me about loyalty points or deliveries.",
		"placeholder": "Ask a question", "primary_color": "#0f766e", "text_color": "#ffffff", "locale": "en",
		"allowed_origins": []string{host.URL},
		"translations": map[string]any{"nl": map[string]string{"title": "Fietswinkel hulp",
			"greeting": "Hallo! Vraag me naar spaarpunten of bezorging.", "placeholder": "Stel een vraag"}},
	}})
	wantStatus(t, r, 201)
	data.ConfigID = r.data(t)["id"].(string)
	t.Logf("setup took %v", time.Since(began).Round(time.Millisecond))

	root, cancelRoot := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancelRoot()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(root, opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()

	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(expr string, out any) {
		t.Helper()
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js(expr), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				t.Fatalf("%s = %s: %v", expr, raw, err)
			}
		}
	}
	waitFor := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js("!!("+expr+")"),
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			var state string
			eval(`document.documentElement.outerHTML.slice(0, 300) + " | " + [...document.querySelectorAll("companin-widget")].map(h => h.shadowRoot.querySelector(".frame").outerHTML).join(" || ")`, &state)
			t.Fatalf("waiting for %s: %v\npage: %s", what, err, state)
		}
	}
	// click clicks the middle of an element in a widget, as a mouse would.
	click := func(id, sel string) {
		t.Helper()
		var xy []float64
		eval(fmt.Sprintf(`(() => { const r = W(%q).querySelector(%q).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`, id, sel), &xy)
		do(chromedp.MouseClickXY(xy[0], xy[1]))
	}
	ready := func(id string) {
		t.Helper()
		waitFor(id+" ready", fmt.Sprintf(`W(%q) && W(%q).querySelector(".frame.ready")`, id, id))
	}
	texts := func(id, sel string) []string {
		t.Helper()
		var out []string
		eval(fmt.Sprintf(`[...W(%q).querySelectorAll(%q)].map(e => e.textContent)`, id, sel), &out)
		return out
	}
	// A reply is final once it is no longer hidden from screen readers.
	lastReply := func(id, contains string) string {
		t.Helper()
		return fmt.Sprintf(`(() => { const b = [...W(%q).querySelectorAll("li.msg.bot:not(.greeting):not([aria-hidden])")]; const l = b[b.length - 1]; return l && l.querySelector("p").textContent.includes(%q); })()`, id, contains)
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		artifact(t, name, png)
	}
	sessionOf := func(id string) string {
		t.Helper()
		var sid string
		eval(fmt.Sprintf(`JSON.parse(localStorage.getItem("companin:v1:instance:" + %q)).session`, id), &sid)
		return sid
	}
	storedMessages := func(sid string) []string {
		t.Helper()
		r := s.do(t, request{method: "GET", path: "/api/v1/sessions/" + sid + "/messages", header: h})
		wantStatus(t, r, 200)
		var out []string
		for _, m := range r.data(t)["items"].([]any) {
			m := m.(map[string]any)
			out = append(out, m["role"].(string)+": "+m["content"].(string))
		}
		return out
	}

	const question = "How many loyalty points give a voucher?"
	t.Run("a visitor asks and the reply streams in with its source", func(t *testing.T) {
		do(chromedp.Navigate(host.URL + "/plain"))
		ready("primary-widget")
		if got := texts("primary-widget", "h2"); !reflect.DeepEqual(got, []string{"Bike shop help"}) {
			t.Errorf("title = %v", got)
		}
		click("primary-widget", ".launcher")
		waitFor("focus in the message box", `W("primary-widget").activeElement && W("primary-widget").activeElement.id === "input"`)
		// Streamed text goes into a bubble hidden from screen readers, which
		// the final reply replaces; remember whether one ever held text.
		eval(`(() => { window.__streamed = ""; new MutationObserver((records) => {
			for (const r of records) for (const n of r.addedNodes)
				if (n.matches && n.matches('li.msg.bot[aria-hidden="true"]:not(.typing)') && n.textContent) window.__streamed = n.textContent;
		}).observe(W("primary-widget"), {subtree: true, childList: true}); return true; })()`, nil)
		do(chromedp.KeyEvent(question), chromedp.KeyEvent(kb.Enter))
		waitFor("the reply", lastReply("primary-widget", "One hundred loyalty points"))
		waitFor("the source link", `W("primary-widget").querySelector(".sources a")`)
		var link struct{ Href, Text, Rel string }
		eval(`(() => { const a = W("primary-widget").querySelector(".sources a"); return {href: a.href, text: a.textContent, rel: a.rel}; })()`, &link)
		if link.Href != knowledgePage.URL+"/loyalty" || link.Text != "Loyalty programme" || !strings.Contains(link.Rel, "noopener") {
			t.Errorf("source link = %+v", link)
		}
		var streamed string
		eval(`window.__streamed`, &streamed)
		final := texts("primary-widget", "li.msg.bot:not(.greeting) p")
		if streamed == "" || len(final) != 1 || !strings.HasPrefix(final[0], streamed) {
			t.Errorf("streamed %q, final %q: want the reply's text streamed before the final reply", streamed, final)
		}
		if got := texts("primary-widget", "li.msg.user p"); !reflect.DeepEqual(got, []string{question}) {
			t.Errorf("visitor messages = %v", got)
		}
		var live string
		eval(`W("primary-widget").querySelector(".log").getAttribute("aria-live")`, &live)
		if live != "polite" {
			t.Errorf("message log aria-live = %q", live)
		}
		shot("widget.png")
	})

	t.Run("a reload keeps the history", func(t *testing.T) {
		sid := sessionOf("primary-widget")
		do(chromedp.Reload())
		ready("primary-widget")
		waitFor("the history", lastReply("primary-widget", "One hundred loyalty points"))
		if got := texts("primary-widget", "li.msg.user p"); !reflect.DeepEqual(got, []string{question}) {
			t.Errorf("after reload, visitor messages = %v", got)
		}
		waitFor("the source link", `W("primary-widget").querySelector(".sources a")`)
		if got := sessionOf("primary-widget"); got != sid {
			t.Errorf("session %s became %s", sid, got)
		}
		// Keyboard: Escape closes and gives focus back to the launcher;
		// Enter on the launcher opens it with focus in the message box.
		click("primary-widget", "textarea")
		do(chromedp.KeyEvent(kb.Escape))
		waitFor("closed, launcher focused", `W("primary-widget").querySelector(".panel").hidden && W("primary-widget").activeElement === W("primary-widget").querySelector(".launcher")`)
		do(chromedp.KeyEvent(kb.Enter))
		waitFor("open, message box focused", `!W("primary-widget").querySelector(".panel").hidden && W("primary-widget").activeElement.id === "input"`)
	})

	t.Run("two instances on one page stay separate", func(t *testing.T) {
		do(chromedp.Navigate(host.URL + "/two"))
		ready("primary-widget")
		ready("second-widget")
		waitFor("primary's history", lastReply("primary-widget", "One hundred"))
		if got := texts("second-widget", "h2"); !reflect.DeepEqual(got, []string{"Fietswinkel hulp"}) {
			t.Errorf("Dutch instance title = %v", got)
		}
		if got := texts("second-widget", "li.msg.user"); len(got) != 0 {
			t.Errorf("second instance shows %v", got)
		}
		click("second-widget", ".launcher")
		waitFor("second open", `!W("second-widget").querySelector(".panel").hidden && W("second-widget").activeElement.id === "input"`)
		do(chromedp.KeyEvent("Do you deliver on Saturdays?"), chromedp.KeyEvent(kb.Enter))
		waitFor("second's reply", lastReply("second-widget", "between 9 and 13"))
		if got := texts("primary-widget", "li.msg.user p"); !reflect.DeepEqual(got, []string{question}) {
			t.Errorf("primary's messages = %v", got)
		}
		if got := texts("second-widget", "li.msg.user p"); !reflect.DeepEqual(got, []string{"Do you deliver on Saturdays?"}) {
			t.Errorf("second's messages = %v", got)
		}
		var sendLabel string
		eval(`W("second-widget").querySelector(".send").getAttribute("aria-label")`, &sendLabel)
		if sendLabel != "Versturen" {
			t.Errorf("Dutch send label = %q", sendLabel)
		}
		a, b := sessionOf("primary-widget"), sessionOf("second-widget")
		if a == b || len(storedMessages(a)) != 2 || len(storedMessages(b)) != 2 {
			t.Errorf("sessions %s %v and %s %v", a, storedMessages(a), b, storedMessages(b))
		}
	})

	t.Run("page CSS that styles every element changes nothing", func(t *testing.T) {
		measure := `(() => {
			const w = W("primary-widget");
			const out = {};
			for (const sel of [".launcher", ".panel", "h2", ".close", "textarea", ".send", "li.msg.user", "li.msg.user p", "li.msg.bot:not(.greeting) p", ".sources a"]) {
				const e = w.querySelector(sel), r = e.getBoundingClientRect(), cs = getComputedStyle(e);
				out[sel] = [r.x, r.y, r.width, r.height, cs.fontFamily, cs.fontSize, cs.lineHeight, cs.color,
					cs.backgroundColor, cs.borderTopWidth, cs.letterSpacing, cs.textTransform, cs.opacity, cs.display].join(" ");
			}
			const hcs = getComputedStyle(w.host);
			out.host = [hcs.opacity, hcs.position, hcs.display, hcs.fontSize, hcs.color, hcs.letterSpacing, hcs.zIndex, hcs.margin, hcs.borderTopWidth].join(" ");
			out.sheets = document.styleSheets.length === document.querySelectorAll("style, link[rel=stylesheet]").length;
			return out;
		})()`
		open := func() {
			waitFor("history", lastReply("primary-widget", "One hundred"))
			if len(texts("primary-widget", ".panel[hidden]")) > 0 {
				click("primary-widget", ".launcher")
			}
			waitFor("open", `!W("primary-widget").querySelector(".panel").hidden && W("primary-widget").querySelector(".sources a")`)
		}
		var plain, hostile map[string]any
		do(chromedp.Navigate(host.URL + "/plain"))
		ready("primary-widget")
		open()
		eval(measure, &plain)
		do(chromedp.Navigate(host.URL + "/hostile"))
		ready("primary-widget")
		open()
		eval(measure, &hostile)
		for k, v := range plain {
			if hostile[k] != v {
				t.Errorf("%s: plain page %v, hostile page %v", k, v, hostile[k])
			}
		}
		if plain["sheets"] != true {
			t.Error("the widget added a style sheet to the page")
		}
		shot("widget-hostile-css.png")
	})

	t.Run("a lost answer is retried without sending twice", func(t *testing.T) {
		do(chromedp.Navigate(host.URL + "/flaky"))
		ready("flaky-widget")
		click("flaky-widget", ".launcher")
		waitFor("focus", `W("flaky-widget").activeElement && W("flaky-widget").activeElement.id === "input"`)
		do(chromedp.KeyEvent("Do you deliver on Saturdays?"), chromedp.KeyEvent(kb.Enter))
		waitFor("the reply", lastReply("flaky-widget", "between 9 and 13"))
		var dropped int
		eval(`window.__dropped`, &dropped)
		if dropped != 1 {
			t.Errorf("dropped %d answers, want 1", dropped)
		}
		if got := storedMessages(sessionOf("flaky-widget")); len(got) != 2 {
			t.Errorf("stored %v, want the message once and its reply", got)
		}
	})

	t.Run("a phone-sized screen", func(t *testing.T) {
		do(chromedp.EmulateViewport(375, 667, chromedp.EmulateScale(2)), chromedp.Navigate(host.URL+"/plain"))
		ready("primary-widget")
		waitFor("open", `!W("primary-widget").querySelector(".panel").hidden`)
		var rect []float64
		eval(`(() => { const r = W("primary-widget").querySelector(".panel").getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()`, &rect)
		if !reflect.DeepEqual(rect, []float64{0, 0, 375, 667}) {
			t.Errorf("panel on a phone = %v, want the whole screen", rect)
		}
		shot("widget-phone.png")
		do(chromedp.EmulateReset())
	})

	t.Run("a site the config does not allow sees the assistant unavailable", func(t *testing.T) {
		do(chromedp.Navigate(elsewhere.URL + "/plain"))
		waitFor("the notice", `W("primary-widget") && W("primary-widget").querySelector(".notice:not([hidden])")`)
		if got := texts("primary-widget", ".notice p"); len(got) != 1 || !strings.Contains(got[0], "unavailable") {
			t.Errorf("notice = %v", got)
		}
		var disabled bool
		eval(`W("primary-widget").querySelector("textarea").disabled`, &disabled)
		if !disabled {
			t.Error("the message box is enabled")
		}
	})
	t.Run("the demo page shows the tag working", func(t *testing.T) {
		r := s.do(t, request{method: "PATCH", path: "/api/v1/widget-configs/" + data.ConfigID, header: h,
			body: map[string]any{"allowed_origins": []string{host.URL, s.URL}}})
		wantStatus(t, r, 200)
		do(chromedp.Navigate(fmt.Sprintf("%s/widget/demo?client_id=%s&assistant_id=%s&config_id=%s", s.URL, c.ClientID, assistant, data.ConfigID)))
		ready("primary-widget")
		if got := texts("primary-widget", "h2"); !reflect.DeepEqual(got, []string{"Bike shop help"}) {
			t.Errorf("demo widget title = %v", got)
		}
	})
	t.Logf("browser test took %v", time.Since(began).Round(time.Millisecond))
}
