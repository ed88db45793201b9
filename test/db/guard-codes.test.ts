import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { GUARD_CODES, GUARD_MESSAGES, isInternalGuard } from "../../src/db/guard";
import { ERROR_CODES } from "../../src/http/errors";

/** The guard table's CHECK constraints, as the migrations left them, are exactly GUARD_CODES. */
it("the guard table's constraints are the guard codes, each one an API error code", async () => {
  const row = await env.DB.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'guard'").first<{
    sql: string;
  }>();
  const names = [...(row?.sql ?? "").matchAll(/CONSTRAINT (\w+) CHECK \(name <> '(\w+)'\)/g)].map((m) => {
    expect(m[1]).toBe(m[2]);
    return m[1];
  });
  expect(names).toEqual([...GUARD_CODES]);
  for (const code of GUARD_CODES) {
    if (isInternalGuard(code)) continue; // acted on by the runner, never answered
    if (code === "capture_exceeds_hold") continue; // answered as invalid_body
    expect(ERROR_CODES, code).toHaveProperty(code);
    expect(GUARD_MESSAGES[code as keyof typeof GUARD_MESSAGES], code).toEqual(expect.any(String));
  }
  // Every code's constraint really fails the batch.
  for (const code of GUARD_CODES) {
    await expect(env.DB.prepare("INSERT INTO guard (name) VALUES (?)").bind(code).run()).rejects.toThrow(code);
  }
});
