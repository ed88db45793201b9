import { describe, expect, it } from "vitest";
import { BASE_URL, createPartner, workerFetch } from "./support/exchange";

describe("smoke", () => {
  it("serves health and a signed whoami", async () => {
    const health = await workerFetch(new Request(`${BASE_URL}/health`));
    expect(health.status).toBe(200);
    const p = await createPartner();
    const r = await p.client.get<{ partner: { id: string } }>("/v1/partner");
    expect(r.status).toBe(200);
    if (r.ok) expect(r.data.partner.id).toBe(p.id);
  });
});
