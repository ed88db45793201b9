/**
 * The console's few DOM helpers: elements from a tag, attributes and children (no framework: the
 * screens are forms and tables), and the two rules of display the issue sets: figures exactly as
 * the API gives them (strings, never float-formatted) and times in the viewer's zone with UTC on
 * hover.
 */

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
}

export function replaceChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export interface Amount {
  value: string;
  unit: string;
}

/** An amount as the API gives it: its decimal string, then its unit. */
export function amount(a: Amount | null | undefined): string {
  return a ? `${a.value} ${a.unit}` : "—";
}

/** A time in the viewer's zone; its RFC 3339 UTC form on hover. */
export function time(iso: string | null | undefined): HTMLElement | string {
  if (!iso) return "—";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return h(
    "time",
    { datetime: iso, title: `${iso} (UTC)` },
    at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }),
  );
}

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  /** Right-aligned figures. */
  numeric?: boolean;
}

export function table<T>(columns: Column<T>[], rows: T[], attrs: Attrs = {}): HTMLTableElement {
  return h(
    "table",
    attrs,
    h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : null }, c.label)))),
    h("tbody", {}, ...rows.map((row) => tableRow(columns, row))),
  );
}

export function tableRow<T>(columns: Column<T>[], row: T): HTMLTableRowElement {
  return h("tr", {}, ...columns.map((c) => h("td", { class: c.numeric ? "num" : null }, c.cell(row))));
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { "aria-label": title }, h("h2", {}, title), ...children);
}

/** A labelled form field. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLLabelElement {
  return h("label", { class: "field" }, h("span", {}, label), control, hint ? h("small", {}, hint) : null);
}

export function link(href: string, text: Child): HTMLAnchorElement {
  return h("a", { href }, text);
}
