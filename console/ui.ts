import { errorText, type Page } from "./api";
import { type Child, type Column, h, replaceChildren, table, tableRow } from "./dom";
import { canWrite } from "./session";

/** Widgets every screen shares: errors in words, cursor pagination, write-only controls, confirmation. */

export function errorBox(e: unknown): HTMLElement {
  return h("p", { class: "error", role: "alert" }, errorText(e));
}

export function notice(text: string): HTMLElement {
  return h("p", { class: "notice", role: "status" }, text);
}

/** A control that writes: absent for a `read` token (the API would refuse it anyway). */
export function writeOnly(...children: Child[]): Child {
  return canWrite() ? h("div", { class: "write", "data-write": "" }, ...children) : null;
}

/**
 * A form that calls the API on submit and shows the outcome in its own status line; `run`
 * returns a message on success or throws the API's error.
 */
export function actionForm(
  attrs: Record<string, string>,
  fields: Child[],
  submitLabel: string,
  run: (form: HTMLFormElement) => Promise<string | undefined>,
): HTMLFormElement {
  const status = h("div", { class: "status" });
  const button = h("button", { type: "submit" }, submitLabel);
  const form = h(
    "form",
    { ...attrs, class: `action ${attrs.class ?? ""}` },
    ...fields,
    h("div", { class: "actions" }, button),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    replaceChildren(status);
    try {
      const message = await run(form);
      if (message) replaceChildren(status, notice(message));
    } catch (e) {
      replaceChildren(status, errorBox(e));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

export function value(form: HTMLFormElement, name: string): string {
  const el = form.elements.namedItem(name);
  return el && "value" in el ? String(el.value).trim() : "";
}

/**
 * A table over a cursor-paginated list: the first page, then "More" fetches the next with the
 * API's next_cursor and appends it.
 */
export async function pagedTable<T>(
  columns: Column<T>[],
  load: (cursor: string | undefined) => Promise<Page<T>>,
  attrs: Record<string, string> = {},
  empty = "Nothing yet.",
): Promise<HTMLElement> {
  const first = await load(undefined);
  if (first.data.length === 0) return h("p", { class: "empty", ...attrs }, empty);
  const tbl = table(columns, first.data, attrs);
  const tbody = tbl.tBodies[0]!;
  const box = h("div", { class: "paged" }, tbl);
  let cursor = first.next_cursor;
  const more = h("button", { type: "button", class: "more" }, "More");
  const status = h("div", { class: "status" });
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const next = await load(cursor ?? undefined);
      for (const row of next.data) tbody.appendChild(tableRow(columns, row));
      cursor = next.next_cursor;
      if (!cursor) more.remove();
      replaceChildren(status);
    } catch (e) {
      replaceChildren(status, errorBox(e));
    } finally {
      more.disabled = false;
    }
  });
  if (cursor) box.append(more);
  box.append(status);
  return box;
}

/** A modal confirmation (the page's own dialog, not window.confirm). */
export function confirmDialog(question: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-label": "Confirm" },
      h("p", {}, question),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "danger", onclick: () => done(true) }, confirmLabel),
        h("button", { type: "button", onclick: () => done(false) }, "Cancel"),
      ),
    );
    dialog.addEventListener("cancel", () => resolve(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A screen's body: loading, then its content, or the API's error in words. */
export async function screen(root: HTMLElement, title: string, build: () => Promise<Child>): Promise<void> {
  replaceChildren(root, h("h1", {}, title), h("p", { class: "loading" }, "Loading…"));
  try {
    const content = await build();
    replaceChildren(root, h("h1", {}, title), content);
  } catch (e) {
    replaceChildren(root, h("h1", {}, title), errorBox(e));
  }
}
