import { describe, expect, it } from "vitest";
import { BASE_URL, workerFetch } from "../support/exchange";

/**
 * The document's tags group the partner API and the operator API as the contracts' sections do,
 * each tag described (with the auth its group uses), and info says which auth each API uses.
 */
interface Op {
  tags?: string[];
  security?: Record<string, unknown>[];
}
interface Doc {
  info: { description?: string };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Op>>;
}

const PUBLIC = new Set(["/.well-known/jwks.json"]);

async function doc(): Promise<Doc> {
  return (await (await workerFetch(new Request(`${BASE_URL}/openapi.json`))).json()) as Doc;
}

describe("tags of /openapi.json", () => {
  it("lists the contracts' sections, partner then operator, each described with its auth", async () => {
    const d = await doc();
    const names = (d.tags ?? []).map((t) => t.name);
    for (const name of [
      "Partner · Members",
      "Partner · Earn and burn",
      "Partner · Settlement",
      "Operator · Partners and keys",
      "Operator · Rates",
      "Operator · Risk rules",
      "Operator · Adjustments",
      "Operator · Settlement",
    ])
      expect(names).toContain(name);
    const lastPartner = names.findLastIndex((n) => n.startsWith("Partner · "));
    const firstOperator = names.findIndex((n) => n.startsWith("Operator · "));
    expect(lastPartner).toBeLessThan(firstOperator);
    for (const t of d.tags ?? []) {
      expect(t.name).toMatch(/^(Partner|Member|Operator) · /);
      const auth = t.name.startsWith("Partner")
        ? "Coalition-Signature"
        : t.name.startsWith("Member")
          ? "Authorization: Bearer mst_"
          : "Authorization: Bearer";
      expect(t.description, t.name).toContain(auth);
    }
  });

  it("puts every operation under one declared tag of its own API, whose auth it uses", async () => {
    const d = await doc();
    const declared = new Set((d.tags ?? []).map((t) => t.name));
    const used = new Set<string>();
    for (const [path, ops] of Object.entries(d.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const name = `${method.toUpperCase()} ${path}`;
        expect(op.tags, name).toHaveLength(1);
        const tag = op.tags?.[0] ?? "";
        expect(declared.has(tag), `${name}: ${tag}`).toBe(true);
        used.add(tag);
        const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
        if (path.startsWith("/admin/v1/")) {
          expect(tag, name).toMatch(/^Operator · /);
          expect(schemes, name).toEqual(["OperatorToken"]);
        } else if (path === "/v1/me" || path.startsWith("/v1/me/")) {
          expect(tag, name).toMatch(/^Member · /);
          expect(schemes, name).toEqual(["MemberSession"]);
        } else if (path.startsWith("/v1/")) {
          expect(tag, name).toMatch(/^Partner · /);
          expect(schemes, name).toEqual(["CoalitionSignature"]);
        } else {
          expect(PUBLIC.has(path), name).toBe(true);
          expect(schemes, name).toEqual([]);
        }
      }
    }
    expect([...declared].filter((t) => !used.has(t))).toEqual([]);
  });

  it("says in info which auth each API uses", async () => {
    const description = (await doc()).info.description ?? "";
    expect(description).toMatch(/Partner API[^\n]*Coalition-Signature/);
    expect(description).toMatch(/Member API[^\n]*Authorization: Bearer mst_/);
    expect(description).toMatch(/Operator API[^\n]*Authorization: Bearer/);
  });
});
