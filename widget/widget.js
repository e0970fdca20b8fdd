/*! Companin chat widget. Embed with:
 * <script src="https://HOST/widget.js" data-client-id="..." data-assistant-id="..."
 *   data-config-id="..." data-instance-id="primary-widget"></script>
 * Optional: data-locale="nl" (else the visitor's browser languages),
 * data-api-base="https://HOST" (else the origin this script came from).
 */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || !window.fetch || !Element.prototype.attachShadow) return;
  const ds = script.dataset;
  const clientId = ds.clientId;
  const instanceId = ds.instanceId || "default";
  const base = (ds.apiBase || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  const api = base + "/api/v1";

  // Instances on this page, by id: a tag included twice runs once, and
  // launchers in the same corner line up instead of overlapping.
  const registry = (window.__companinWidgets = window.__companinWidgets || { byId: {}, list: [] });
  if (registry.byId[instanceId]) return;

  // Every rule lives in the shadow root: the page's CSS cannot reach in,
  // and ours cannot leak out. :host resets what the host element would
  // otherwise inherit from the page (important rules of a shadow tree win
  // over the page's important rules).
  const CSS = `
:host{all:initial!important}
*{box-sizing:border-box}
.frame{--slot:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#111827;-webkit-font-smoothing:antialiased}
button,textarea{font:inherit;margin:0}
.launcher{position:fixed;z-index:2147483000;bottom:20px;right:calc(20px + var(--slot) * 68px);width:56px;height:56px;border-radius:50%;border:0;padding:0;background:var(--primary);color:var(--on-primary);box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer;display:grid;place-items:center}
.left .launcher{right:auto;left:calc(20px + var(--slot) * 68px)}
.launcher svg{width:28px;height:28px;fill:currentColor;display:block}
.launcher img{width:32px;height:32px;object-fit:contain;display:block}
.glyph{font-size:26px;line-height:1}
.panel{position:fixed;z-index:2147483001;bottom:88px;right:20px;width:370px;max-width:calc(100vw - 40px);height:560px;max-height:calc(100vh - 108px);display:flex;flex-direction:column;background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);overflow:hidden}
.panel[hidden]{display:none}
.left .panel{right:auto;left:20px}
header{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:12px 12px 12px 16px;background:var(--primary);color:var(--on-primary)}
h2{margin:0;font-size:16px;font-weight:600;line-height:1.3}
.close{background:transparent;border:0;color:inherit;font-size:26px;line-height:1;width:36px;height:36px;border-radius:8px;cursor:pointer;flex:none}
.log{list-style:none;margin:0;padding:16px;flex:1;overflow-y:auto;display:flex;flex-direction:column;gap:10px;background:#f9fafb}
.msg{max-width:85%;padding:9px 12px;border-radius:14px;overflow-wrap:anywhere;white-space:pre-wrap}
.msg p{margin:0}
.bot{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;color:#111827;border-bottom-left-radius:4px}
.user{align-self:flex-end;background:var(--primary);color:var(--on-primary);border-bottom-right-radius:4px}
.sending{opacity:.75}
span.failed{display:block;font-size:13px;margin-top:4px}
button.failed{background:none;border:0;padding:0;color:inherit;text-decoration:underline;cursor:pointer;font-size:13px}
.cited{margin-top:8px;padding-top:6px;border-top:1px solid #e5e7eb;font-size:13px;white-space:normal}
.cited .label{color:#4b5563;font-weight:600}
.sources{margin:2px 0 0;padding-left:18px}
.sources a{color:#1d4ed8}
.typing p{display:flex;gap:4px;padding:5px 0}
.typing i{width:7px;height:7px;border-radius:50%;background:#6b7280;animation:blink 1.2s infinite both}
.typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}
@keyframes blink{0%,80%,100%{opacity:.3}40%{opacity:1}}
.notice{padding:12px 16px;background:#fef2f2;color:#7f1d1d;border-top:1px solid #fecaca}
.notice p{margin:0 0 8px}
.notice button{background:#7f1d1d;color:#fff;border:0;border-radius:8px;padding:6px 12px;cursor:pointer}
.compose{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb;background:#fff;align-items:flex-end}
textarea{flex:1;resize:none;color:#111827;background:#fff;border:1px solid #6b7280;border-radius:10px;padding:9px 11px;min-height:40px;max-height:120px;line-height:1.4;display:block}
textarea::placeholder{color:#6b7280;opacity:1}
.send{width:40px;height:40px;border-radius:10px;border:0;padding:0;background:var(--primary);color:var(--on-primary);cursor:pointer;display:grid;place-items:center;flex:none}
.send svg{width:20px;height:20px;fill:currentColor;display:block}
button:disabled,textarea:disabled{opacity:.5;cursor:not-allowed}
:focus-visible{outline:2px solid #111827;outline-offset:2px;box-shadow:0 0 0 2px #fff}
.sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
@media (max-width:480px){.panel,.left .panel{inset:0;width:100%;max-width:none;height:100%;max-height:none;border-radius:0}.open .launcher{display:none}}
@media (prefers-reduced-motion:reduce){.typing i{animation:none}}
`;

  // --- Texts ----------------------------------------------------------------
  const TEXTS = {
    en: {
      title: "Chat with us", greeting: "Hi! How can we help you?", placeholder: "Type your question…",
      open: "Open chat", close: "Close chat", send: "Send", label: "Your message", you: "You",
      assistant: "Assistant", sources: "Sources", typing: "The assistant is typing…",
      unavailable: "The assistant is unavailable right now. Please try again later.",
      retry: "Try again", failed: "Sorry, no answer could be given. Please try again.",
      notSent: "Not sent. Check your connection.", resend: "Send again",
      pending: "Still working on your answer…", limited: "Too many messages at once. Please wait a moment.",
      newChat: "This conversation had ended, so a new one has started.",     },
    nl: {
      title: "Chat met ons", greeting: "Hallo! Waarmee kunnen we je helpen?", placeholder: "Typ je vraag…",
      open: "Chat openen", close: "Chat sluiten", send: "Versturen", label: "Je bericht", you: "Jij",
      assistant: "Assistent", sources: "Bronnen", typing: "De assistent is aan het typen…",
      unavailable: "De assistent is nu niet beschikbaar. Probeer het later opnieuw.",
      retry: "Opnieuw proberen", failed: "Sorry, er kon geen antwoord worden gegeven. Probeer het opnieuw.",
      notSent: "Niet verzonden. Controleer je verbinding.", resend: "Opnieuw versturen",
      pending: "We werken nog aan je antwoord…", limited: "Te veel berichten tegelijk. Wacht even.",
      newChat: "Dit gesprek was beëindigd, er is een nieuw gesprek gestart.",     },
  };
  const wanted = [ds.locale, ...(navigator.languages || [navigator.language])]
    .filter(Boolean).map((l) => String(l).replace(/_/g, "-").toLowerCase());
  const baseLang = (l) => l.split("-")[0];
  let uiLang = wanted.map(baseLang).find((l) => TEXTS[l]) || "en";
  let t = TEXTS[uiLang];

  // --- Storage (per instance; memory when localStorage is unavailable) -------
  const memory = {};
  const store = {
    get(k) {
      try { return JSON.parse(localStorage.getItem(k)); } catch { return memory[k] ?? null; }
    },
    set(k, v) {
      memory[k] = v;
      try { localStorage.setItem(k, JSON.stringify(v)); } catch { /* private mode */ }
    },
  };
  const randomHex = (bytes) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0")).join("");
  const visitorKeyName = "companin:v1:visitor:" + clientId;
  let visitorKey = store.get(visitorKeyName);
  if (typeof visitorKey !== "string" || visitorKey.length < 32) {
    visitorKey = randomHex(16);
    store.set(visitorKeyName, visitorKey);
  }
  const stateKey = "companin:v1:instance:" + instanceId;
  const saved = store.get(stateKey) || {};
  let sessionId = saved.client === clientId ? saved.session : null;
  const save = (patch) => store.set(stateKey, Object.assign(store.get(stateKey) || {}, { client: clientId }, patch));

  // --- HTTP -------------------------------------------------------------------
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  class HttpError extends Error {
    constructor(status, detail) { super(detail || "HTTP " + status); this.status = status; }
  }
  // The token is kept with the instance too, so a page load within its
  // hour needs no new one (it is as secret as the visitor key beside it).
  const grantOf = () => [clientId, ds.assistantId || "", ds.configId || ""].join(" ");
  let token = saved.token && saved.grant === grantOf() ? saved.token : null;
  let tokenExpires = token ? saved.expires : 0, minting = null, refreshTimer = 0;

  async function mint() {
    const body = { client_id: clientId, visitor_key: visitorKey };
    if (ds.assistantId) body.assistant_id = ds.assistantId;
    if (ds.configId) body.config_id = ds.configId;
    const res = await call("POST", "/auth/widget-token", body, { auth: false });
    const j = await res.json();
    if (!res.ok) throw new HttpError(res.status, j && j.detail);
    token = j.token;
    tokenExpires = Date.now() + j.expires_in * 1000;
    save({ token, expires: tokenExpires, grant: grantOf() });
    // Refresh well before expiry; getToken checks the clock too, for tabs
    // whose timers were throttled in the background.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => getToken(true).catch(() => {}), Math.max(5e3, j.expires_in * 1000 - 12e4));
    return token;
  }
  function getToken(force) {
    if (!force && token && Date.now() < tokenExpires - 6e4) return Promise.resolve(token);
    return (minting = minting || mint().finally(() => { minting = null; }));
  }

  // call sends one request, retrying network errors, 429 and 5xx with
  // backoff. A POST that creates something carries an Idempotency-Key that
  // stays the same across retries, so the server acts on it once.
  async function call(method, path, body, opts = {}) {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= (opts.tries || 5);
      let res;
      try {
        const headers = { Accept: opts.stream ? "text/event-stream" : "application/json" };
        if (body) headers["Content-Type"] = "application/json";
        if (opts.key) headers["Idempotency-Key"] = opts.key;
        if (opts.auth !== false) headers.Authorization = "Bearer " + (await getToken());
        res = await fetch(api + path, {
          method, headers, body: body ? JSON.stringify(body) : undefined,
          credentials: "omit", cache: "no-store", signal: opts.signal,
        });
      } catch (err) {
        if (err instanceof HttpError || last || (opts.signal && opts.signal.aborted)) throw err;
        await sleep(Math.min(8e3, 400 * 2 ** attempt));
        continue;
      }
      if (res.status === 401 && opts.auth !== false && attempt === 0) {
        token = null; // expired or revoked: mint a new one and try again
        continue;
      }
      if ((res.status === 429 || res.status >= 500) && !last) {
        const after = Number(res.headers.get("Retry-After"));
        if (res.status === 429 && after > 30) return res;
        await sleep(after > 0 ? after * 1000 : Math.min(8e3, 400 * 2 ** attempt));
        continue;
      }
      return res;
    }
  }
  async function getJSON(path) {
    const res = await call("GET", path);
    const j = await res.json().catch(() => null);
    if (!res.ok) throw new HttpError(res.status, j && j.detail);
    return j.data;
  }

  // readEvents parses a Server-Sent Events body as it arrives.
  async function readEvents(res, on) {
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf = (buf + dec.decode(value, { stream: true })).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let name = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data += (data ? "\n" : "") + line.slice(5).replace(/^ /, "");
        }
        if (data) on(name, JSON.parse(data));
      }
    }
  }

  // --- DOM ----------------------------------------------------------------------
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== false && v != null) e.setAttribute(k, v === true ? "" : v);
    }
    e.append(...kids.filter(Boolean));
    return e;
  };
  const host = el("companin-widget", { "data-instance-id": instanceId });
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML = `<style>${CSS}</style>`;

  const launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "panel" });
  const titleEl = el("h2", { id: "title" });
  const closeBtn = el("button", { class: "close", type: "button", text: "×" });
  const log = el("ol", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-labelledby": "title" });
  const notice = el("div", { class: "notice", role: "alert", hidden: true });
  const status = el("div", { class: "sr", role: "status", "aria-live": "polite" });
  const input = el("textarea", { id: "input", rows: "1", maxlength: "4000", autocomplete: "off" });
  const sendBtn = el("button", { class: "send", type: "submit" });
  sendBtn.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M3 20.5 21 12 3 3.5v6.8l12 1.7-12 1.7z"/></svg>';
  const label = el("label", { for: "input", class: "sr" });
  const form = el("form", { class: "compose" }, label, input, sendBtn);
  const panel = el("section", { class: "panel", id: "panel", role: "dialog", "aria-labelledby": "title", hidden: true },
    el("header", {}, titleEl, closeBtn), log, notice, form, status);
  const frame = el("div", { class: "frame" }, panel, launcher);
  root.append(frame);

  const me = { id: instanceId, position: "bottom-right", close: () => setOpen(false) };
  registry.byId[instanceId] = me;
  registry.list.push(me);

  let config = {}, greetingEl = null;
  function applyConfig() {
    const tr = config.translations || {};
    const keys = Object.keys(tr);
    const match = (want) => keys.find((k) => k.toLowerCase() === want) || keys.find((k) => baseLang(k.toLowerCase()) === baseLang(want));
    const locKey = wanted.map(match).find(Boolean);
    // Built-in texts: the visitor's language if we have it, else the
    // config's locale, else English.
    const cfgLang = baseLang(String(config.locale || "").toLowerCase());
    if (!wanted.some((l) => TEXTS[baseLang(l)]) && TEXTS[cfgLang]) {
      uiLang = cfgLang;
      t = TEXTS[uiLang];
    }
    // Config texts: its translation for the visitor's locale, else its
    // own, else ours.
    const own = locKey ? tr[locKey] : {};
    const text = (k) => own[k] || config[k] || t[k];
    texts = { title: text("title"), greeting: text("greeting"), placeholder: text("placeholder") };
    host.lang = uiLang;
    frame.style.setProperty("--primary", config.primary_color || "#2563eb");
    frame.style.setProperty("--on-primary", config.text_color || "#ffffff");
    me.position = config.position === "bottom-left" ? "bottom-left" : "bottom-right";
    frame.classList.toggle("left", me.position === "bottom-left");
    const slot = registry.list.filter((w) => w.position === me.position).indexOf(me);
    frame.style.setProperty("--slot", String(Math.max(slot, 0)));
    titleEl.textContent = texts.title;
    input.placeholder = texts.placeholder;
    label.textContent = t.label;
    sendBtn.setAttribute("aria-label", t.send);
    closeBtn.setAttribute("aria-label", t.close);
    launcherLabel();
    launcher.replaceChildren(icon(config.launcher_icon));
    if (greetingEl) greetingEl.querySelector("p").textContent = texts.greeting;
  }
  let texts = { title: t.title, greeting: t.greeting, placeholder: t.placeholder };
  function icon(src) {
    if (src && /^(https?:|data:image\/)/i.test(src)) return el("img", { src, alt: "" });
    if (src) return el("span", { class: "glyph", "aria-hidden": "true", text: src });
    const s = el("span", { "aria-hidden": "true" });
    s.innerHTML = '<svg viewBox="0 0 24 24" focusable="false"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';
    return s;
  }

  const launcherLabel = () => launcher.setAttribute("aria-label", panel.hidden ? t.open + ": " + texts.title : t.close);
  function setOpen(open, focus = true) {
    if (open) for (const w of registry.list) if (w !== me && w.position === me.position) w.close();
    panel.hidden = !open;
    frame.classList.toggle("open", open);
    launcher.setAttribute("aria-expanded", String(open));
    launcherLabel();
    save({ open });
    if (open) {
      if (focus) input.focus();
      log.scrollTop = log.scrollHeight;
    } else if (focus && root.activeElement) {
      launcher.focus();
    }
  }
  launcher.addEventListener("click", () => setOpen(panel.hidden));
  closeBtn.addEventListener("click", () => setOpen(false));
  panel.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); setOpen(false); } });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  input.addEventListener("input", () => { input.style.height = "auto"; input.style.height = Math.min(input.scrollHeight, 120) + "px"; });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || available !== true) return;
    input.value = "";
    input.style.height = "auto";
    send(text, randomHex(16));
  });

  // --- Messages -------------------------------------------------------------------
  const scroll = () => { log.scrollTop = log.scrollHeight; };
  function bubble(role, content, extra) {
    const li = el("li", { class: "msg " + (role === "user" ? "user" : "bot") },
      el("span", { class: "sr", text: (role === "user" ? t.you : t.assistant) + ": " }),
      el("p", { text: content }), extra);
    return li;
  }
  const sourceCache = {};
  function sourcesList(sources) {
    const seen = new Set();
    const items = (sources || []).filter((s) => s && !seen.has(s.knowledge_id) && seen.add(s.knowledge_id));
    if (!items.length) return null;
    const ul = el("ul", { class: "sources", "aria-label": t.sources });
    for (const s of items) {
      const li = el("li", {}, el("span", { text: s.title }));
      ul.append(li);
      (sourceCache[s.knowledge_id] = sourceCache[s.knowledge_id] || getJSON("/sources/" + encodeURIComponent(s.knowledge_id)))
        .then((src) => {
          if (src && src.url && /^https?:\/\//i.test(src.url)) {
            li.replaceChildren(el("a", { href: src.url, target: "_blank", rel: "noopener noreferrer", text: src.title || s.title }));
          }
        }).catch(() => {});
    }
    return el("div", { class: "cited" }, el("span", { class: "label", text: t.sources }), ul);
  }
  function replyBubble(reply) {
    return bubble("assistant", reply.content, sourcesList(reply.sources));
  }
  function announce(text) {
    status.textContent = "";
    setTimeout(() => { status.textContent = text; }, 50);
  }

  async function allMessages() {
    const items = [];
    let cursor = "";
    for (let page = 0; page < 10; page++) {
      const d = await getJSON(`/sessions/${sessionId}/messages?limit=100${cursor ? "&cursor=" + encodeURIComponent(cursor) : ""}`);
      items.push(...d.items);
      if (!d.next_cursor) break;
      cursor = d.next_cursor;
    }
    return items;
  }

  // loadHistory renders the stored conversation: the server keeps the
  // record, the browser only the session id.
  async function loadHistory() {
    const items = await allMessages();
    const nodes = [];
    let waiting = null;
    for (const m of items) {
      nodes.push(m.role === "user" ? bubble("user", m.content) : replyBubble(m));
      if (m.role === "user") waiting = m.reply_status === "pending" ? m.id : null;
    }
    log.replaceChildren(greeting(), ...nodes);
    scroll();
    if (waiting) awaitReply(waiting, typingBubble());
  }
  function greeting() {
    greetingEl = bubble("assistant", texts.greeting);
    greetingEl.classList.add("greeting");
    return greetingEl;
  }
  function typingBubble() {
    const li = el("li", { class: "msg bot typing", "aria-hidden": "true" }, el("p", {}, el("i"), el("i"), el("i")));
    log.append(li);
    scroll();
    announce(t.typing);
    return li;
  }

  // awaitReply polls the history for a reply the stream did not deliver.
  async function awaitReply(msgId, placeholder) {
    placeholder.querySelector("p").textContent = t.pending;
    for (let i = 0; i < 60; i++) {
      await sleep(Math.min(1e3 * (i + 1), 5e3));
      try {
        const items = await allMessages();
        const mine = items.find((m) => m.id === msgId);
        const reply = items.find((m) => m.reply_to === msgId);
        if (reply) return finish(placeholder, replyBubble(reply));
        if (mine && mine.reply_status === "failed") return finish(placeholder, bubble("assistant", t.failed));
      } catch { /* keep waiting */ }
    }
    finish(placeholder, bubble("assistant", t.failed));
  }
  // finish replaces the typing or streamed bubble (hidden from screen
  // readers while it changes) with the final one: the log, a live region,
  // announces the new node once, whole.
  function finish(old, node) {
    old.replaceWith(node);
    status.textContent = "";
    scroll();
  }

  async function startSession() {
    const body = { assistant_id: assistantId, locale: uiLang, metadata: { source: "widget", instance_id: instanceId, page: location.pathname } };
    const res = await call("POST", "/sessions", body, { key: randomHex(16) });
    const j = await res.json().catch(() => null);
    if (!res.ok) {
      // The assistant is gone, inactive or not ours: nothing to retry.
      const err = new HttpError(res.status, j && j.detail);
      err.fatal = res.status !== 429 && res.status < 500;
      throw err;
    }
    sessionId = j.data.id;
    save({ session: sessionId });
  }

  // send delivers one message and shows its reply as it streams. Retries
  // reuse the message's key: the server stores it once, and a retry after
  // a lost answer streams the reply of the message already stored.
  async function send(text, key, userNode) {
    if (!userNode) {
      userNode = bubble("user", text);
      log.append(userNode);
      scroll();
    }
    userNode.classList.add("sending");
    userNode.querySelector(".failed")?.remove();
    const typing = typingBubble();
    let streamed = null, result = null, msgId = null;
    try {
      for (let attempt = 0; attempt < 4 && !result; attempt++) {
        if (!sessionId) await startSession();
        const res = await call("POST", `/sessions/${sessionId}/messages`,
          { content: text, metadata: { source: "widget" } }, { key: sessionId + ":" + key, stream: true });
        if (res.status === 404 || res.status === 409) {
          // Not ours any more, or ended: start a new session and say so.
          const ended = res.status === 409;
          sessionId = null;
          save({ session: null });
          if (ended) announce(t.newChat);
          continue;
        }
        if (res.status === 429) { result = "limited"; break; }
        if (!res.ok) throw new HttpError(res.status);
        if (!(res.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
          const j = await res.json();
          msgId = j.data.id;
          result = j.data.reply ? { reply: j.data.reply } : "pending";
          break;
        }
        try {
          await readEvents(res, (name, d) => {
            if (name === "message") {
              msgId = d.id;
              userNode.classList.remove("sending");
              if (streamed) streamed.querySelector("p").textContent = ""; // a retry streams afresh
            }
            else if (name === "delta") {
              if (!streamed) {
                streamed = el("li", { class: "msg bot", "aria-hidden": "true" }, el("p"));
                typing.replaceWith(streamed);
              }
              streamed.querySelector("p").textContent += d.content;
              scroll();
            } else if (name === "reply") result = { reply: d };
            else if (name === "failed") result = "failed";
            else if (name === "pending") result = "pending";
          });
        } catch { /* the stream broke: send again with the same key */ }
      }
    } catch (err) {
      (streamed || typing).remove();
      userNode.classList.remove("sending");
      if (err instanceof HttpError && (err.fatal || err.status === 401 || err.status === 403)) return unavailable(err);
      return markUnsent(userNode, text, key);
    }
    userNode.classList.remove("sending");
    const shown = streamed || typing;
    if (result && result.reply) finish(shown, replyBubble(result.reply));
    else if (result === "pending" && msgId) { if (shown !== typing) shown.replaceWith(typing); awaitReply(msgId, typing); }
    else if (result === "limited") finish(shown, bubble("assistant", t.limited));
    else if (result === "failed") finish(shown, bubble("assistant", t.failed));
    else { shown.remove(); markUnsent(userNode, text, key); }
  }
  function markUnsent(node, text, key) {
    node.classList.add("unsent");
    const again = el("button", { type: "button", class: "failed", text: t.resend, onclick: () => { node.classList.remove("unsent"); send(text, key, node); } });
    node.append(el("span", { class: "failed" }, t.notSent + " ", again));
    announce(t.notSent);
  }

  // --- Availability ----------------------------------------------------------
  let available = null, assistantId = ds.assistantId || null;
  function unavailable(err) {
    available = false;
    frame.classList.add("down");
    input.disabled = sendBtn.disabled = true;
    notice.replaceChildren(el("p", { text: t.unavailable }),
      el("button", { type: "button", text: t.retry, onclick: () => boot() }));
    notice.hidden = false;
    if (window.console && err) console.warn("companin widget:", err.message || err);
  }

  async function boot() {
    available = null;
    notice.hidden = true;
    frame.classList.remove("down");
    try {
      if (!clientId) throw new Error("data-client-id is missing");
      await getToken();
      if (ds.configId) config = await getJSON("/widget-configs/" + encodeURIComponent(ds.configId));
      applyConfig();
      assistantId = ds.assistantId || config.assistant_id;
      if (!assistantId) throw new Error("data-assistant-id is missing");
      if (sessionId) {
        try {
          await loadHistory();
        } catch (err) {
          if (!(err instanceof HttpError && err.status === 404)) throw err;
          sessionId = null;
          save({ session: null });
        }
      }
      if (!sessionId) log.replaceChildren(greeting());
      available = true;
      input.disabled = sendBtn.disabled = false;
      frame.classList.add("ready");
    } catch (err) {
      applyConfig();
      unavailable(err);
    }
  }

  applyConfig();
  (document.body || document.documentElement).append(host);
  if (saved.open && saved.client === clientId) setOpen(true, false);
  boot();
})();
