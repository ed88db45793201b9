/**
 * The member widget (`<script src="/widget/v1.js">`, then `<coalition-balance token="mst_…">`):
 * a custom element that shows the session's member their coalition balance, what expires when,
 * and their recent activity across brands, reading GET /v1/me and /v1/me/activity from the
 * exchange that served the script. Plain browser JavaScript with no dependency, kept as text so
 * the worker serves it as is; the partner styles it with CSS custom properties (--coalition-*),
 * which inherit into its shadow root. Data is only ever set as text, never as HTML.
 */
export const WIDGET_SCRIPT = String.raw`(() => {
  "use strict";
  if (customElements.get("coalition-balance")) return;
  const script = document.currentScript;
  const defaultApi = script && script.src ? new URL(script.src).origin : location.origin;
  const STYLE =
    ":host{display:block;max-width:var(--coalition-width,360px);font-family:var(--coalition-font,system-ui,sans-serif);color:var(--coalition-text,#1d1d1f);}" +
    "section{background:var(--coalition-background,#fff);border:1px solid var(--coalition-border,#d9d9de);" +
    "border-radius:var(--coalition-radius,12px);padding:16px}" +
    "h2{font-size:1em;margin:0 0 8px;color:var(--coalition-muted,#5f6368);font-weight:600}" +
    ".available{font-size:2em;font-weight:700;color:var(--coalition-accent,#0b6e4f);margin:0}" +
    ".value{margin:0 0 8px;color:var(--coalition-muted,#5f6368)}" +
    "dl{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;margin:8px 0}dt{color:var(--coalition-muted,#5f6368)}dd{margin:0}" +
    "ul,ol{list-style:none;padding:0;margin:4px 0 8px}li{display:flex;justify-content:space-between;gap:8px;padding:2px 0}" +
    ".error{color:var(--coalition-error,#b3261e)}";

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function points(n) {
    return new Intl.NumberFormat().format(n);
  }
  function day(iso) {
    const d = new Date(iso);
    const node = el("time", d.toLocaleDateString());
    node.dateTime = iso;
    node.title = iso;
    return node;
  }

  class CoalitionBalance extends HTMLElement {
    static get observedAttributes() {
      return ["token", "api"];
    }
    constructor() {
      super();
      this.attachShadow({ mode: "open" });
      this.generation = 0;
    }
    connectedCallback() {
      this.load();
    }
    attributeChangedCallback() {
      if (this.isConnected) this.load();
    }
    async load() {
      const generation = ++this.generation;
      const token = this.getAttribute("token") || "";
      const api = (this.getAttribute("api") || defaultApi).replace(/\/+$/, "");
      const section = el("section");
      section.setAttribute("aria-label", this.getAttribute("label") || "Your coalition points");
      section.setAttribute("aria-busy", "true");
      section.append(el("p", "Loading your points…"));
      this.render(section);
      const get = async (path) => {
        const res = await fetch(api + path, { headers: { Authorization: "Bearer " + token } });
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      };
      try {
        const [balance, activity] = await Promise.all([get("/v1/me"), get("/v1/me/activity?limit=5")]);
        if (generation !== this.generation) return;
        this.render(this.view(balance, activity.data || []));
        this.dispatchEvent(new CustomEvent("coalition-loaded", { detail: { balance }, bubbles: true }));
      } catch (error) {
        if (generation !== this.generation) return;
        const failed = el("section");
        failed.setAttribute("aria-label", this.getAttribute("label") || "Your coalition points");
        const message = el("p", "Your points are not available right now.", "error");
        message.setAttribute("role", "alert");
        failed.append(message);
        this.render(failed);
        this.dispatchEvent(new CustomEvent("coalition-error", { detail: { error: String(error) }, bubbles: true }));
      }
    }
    render(content) {
      const style = el("style", STYLE);
      this.shadowRoot.replaceChildren(style, content);
    }
    view(balance, activity) {
      const section = el("section");
      section.setAttribute("aria-label", this.getAttribute("label") || "Your coalition points");
      section.append(el("h2", this.getAttribute("heading") || "Your points"));
      const available = el("p", points(balance.points.available), "available");
      available.setAttribute("data-available", String(balance.points.available));
      available.setAttribute("aria-label", points(balance.points.available) + " points available");
      section.append(available);
      if (balance.value) section.append(el("p", "Worth " + balance.value.value + " " + balance.value.unit, "value"));
      const dl = el("dl");
      for (const [label, n] of [["Pending", balance.points.pending], ["Held", balance.points.held]]) {
        if (n) dl.append(el("dt", label), el("dd", points(n)));
      }
      if (dl.childElementCount) section.append(dl);
      if (balance.expiring && balance.expiring.length) {
        section.append(el("h2", "Expiring soon"));
        const list = el("ul");
        list.setAttribute("aria-label", "Points expiring soon");
        for (const e of balance.expiring) {
          const item = el("li");
          item.append(el("span", points(e.points) + " points"), day(e.expires_at));
          list.append(item);
        }
        section.append(list);
      }
      if (activity.length) {
        section.append(el("h2", "Recent activity"));
        const list = el("ol");
        list.setAttribute("aria-label", "Recent activity");
        for (const t of activity) {
          const item = el("li");
          const sign = t.type === "burn" || t.type === "expiry" ? "−" : t.type === "earn" ? "+" : "";
          item.append(el("span", t.partner.name), el("span", sign + points(t.points)), day(t.created_at));
          list.append(item);
        }
        section.append(list);
      }
      const status = el("p");
      status.setAttribute("role", "status");
      status.style.display = "none";
      status.textContent = points(balance.points.available) + " points available";
      section.append(status);
      return section;
    }
  }
  customElements.define("coalition-balance", CoalitionBalance);
})();
`;
