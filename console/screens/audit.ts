import { api, type Page, q } from "../api";
import { h, time } from "../dom";
import { pagedTable, screen } from "../ui";

/** Audit: every change the operator made, newest first, with who made it (the token's sub). */

interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: unknown;
}

export function auditScreen(root: HTMLElement): Promise<void> {
  return screen(root, "Audit log", async () =>
    pagedTable<AuditEntry>(
      [
        { label: "When", cell: (e) => time(e.at) },
        { label: "Who", cell: (e) => e.actor },
        { label: "Action", cell: (e) => h("code", {}, e.action) },
        { label: "Target", cell: (e) => e.target },
        {
          label: "Detail",
          cell: (e) => h("details", {}, h("summary", {}, "detail"), h("pre", {}, JSON.stringify(e.detail, null, 2))),
        },
      ],
      (cursor) => api<Page<AuditEntry>>("GET", `/audit${q({ limit: "20", cursor })}`),
      { "data-table": "audit" },
      "No change recorded yet.",
    ),
  );
}
