import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { newJti, signRequest } from "../../packages/partner-sdk/src/index";
import { BASE_URL, newKeyPair, operatorToken, type TestPartner, workerFetch } from "../support/exchange";
import { CONTEXT, enrol, partnerWithCard, sql } from "../support/ledger";
import { changedTables, tableDigests } from "../support/row-counts";

/**
 * Bodies are strict JSON (issue 9, part 2; partner-api.md §1): a body that is not valid UTF-8,
 * or that names a member twice, answers `400 invalid_request / invalid_body` and writes nothing,
 * on partner and operator routes alike; so do the other ways a body's bytes and what would be
 * stored could differ (src/http/strict-json.ts). Requests are signed exactly as a partner signs
 * them (over the raw bytes), so each reaches the body validation. Before the fix the first two
 * reproductions booked a transaction: `order_ref` stored as U+FFFD, and 1,000,000 points.
 */

const utf8 = (s: string) => new TextEncoder().encode(s);

/** `text` as UTF-8 with the bytes of `marker` (ASCII, once in it) replaced by `raw`. */
function withRawBytes(text: string, marker: string, raw: number[]): Uint8Array {
  const at = text.indexOf(marker);
  return new Uint8Array([...utf8(text.slice(0, at)), ...raw, ...utf8(text.slice(at + marker.length))]);
}

interface Answer {
  status: number;
  json: any;
  text: string;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text) };
}

let partner: TestPartner;
let ref: string;

beforeAll(async () => {
  partner = await partnerWithCard();
  ({ ref } = await enrol(partner));
});

/** A POST signed over exactly `bytes`, as a partner's client signs it. */
function signedPost(target: string, bytes: Uint8Array, idempotencyKey: string, headers: Record<string, string> = {}) {
  return partner.client.buildRequest("POST", target, bytes, { idempotencyKey, headers });
}

/** Sends `request` and checks it was refused as invalid_body and wrote nothing but its jti. */
async function expectRefusedBody(request: Request, message: string | RegExp, param?: string): Promise<Answer> {
  const before = await tableDigests(undefined, { except: ["request_nonces"] });
  const got = await answer(await workerFetch(request));
  expect(got.status, got.text).toBe(400);
  expect(got.json.error).toMatchObject({ type: "invalid_request", code: "invalid_body" });
  expect(got.json.error.message).toMatch(message);
  expect(got.json.error.param).toBe(param);
  expect(changedTables(before, await tableDigests(undefined, { except: ["request_nonces"] })), got.text).toEqual([]);
  return got;
}

const earnText = (members: string) => `{"member_ref":"${ref}",${members},"context":{"ip":"${CONTEXT.ip}"}}`;

describe("strict JSON bodies, partner API: the issue's reproductions", () => {
  it("an earn whose order_ref has invalid UTF-8 bytes is refused; no transaction, no key stored, the jti is", async () => {
    // "A-Café" in Latin-1: E9 then a quote, not a UTF-8 sequence (it used to be stored as U+FFFD).
    const text = earnText(`"points":5,"order_ref":"A-Caf@"`);
    const bytes = withRawBytes(text, "@", [0xe9]);
    const key = `idk_${newJti()}`;
    const request = await signedPost("/v1/earn", bytes, key);
    const replay = request.clone();
    const offset = utf8(text.slice(0, text.indexOf("@"))).length;
    await expectRefusedBody(request, `the body is not valid UTF-8 (byte offset ${offset})`);
    expect(await sql("SELECT id FROM transactions WHERE partner_id = ?1", partner.id)).toEqual([]);

    // The signature passed, so its jti is spent (§2): the same request again is a replay.
    const jti = decodeJwt(request.headers.get("Coalition-Signature") ?? "").jti;
    expect(await sql("SELECT jti FROM request_nonces WHERE partner_id = ?1 AND jti = ?2", partner.id, jti)).toHaveLength(1);
    const replayed = await answer(await workerFetch(replay));
    expect(replayed.json.error.code).toBe("replayed_request");

    // A validation failure is not stored under the Idempotency-Key (§3): the corrected retry books.
    const corrected = await answer(await workerFetch(await signedPost("/v1/earn", utf8(text.replace("@", "é")), key)));
    expect(corrected.status, corrected.text).toBe(201);
    expect(corrected.json.transaction).toMatchObject({ points: 5, order_ref: "A-Café" });
  });

  it('{"points":1,"points":1000000} is refused, naming the member; no transaction', async () => {
    const before = await sql("SELECT COUNT(*) AS n FROM transactions");
    await expectRefusedBody(
      await signedPost("/v1/earn", utf8(earnText(`"points":1,"points":1000000`)), `idk_${newJti()}`),
      'the member "points" appears twice',
      "points",
    );
    expect(await sql("SELECT COUNT(*) AS n FROM transactions")).toEqual(before);
  });
});

describe("strict JSON bodies, partner API: every other way bytes and stored value could differ", () => {
  const cases: { label: string; bytes: () => Uint8Array; message: string | RegExp; param?: string }[] = [
    {
      label: "a member named twice, the second spelled with an escape",
      bytes: () => utf8(earnText(`"points":1,"p\\u006fints":1000000`)),
      message: 'the member "points" appears twice',
      param: "points",
    },
    {
      label: "a member named twice inside context",
      bytes: () => utf8(`{"member_ref":"${ref}","points":1,"context":{"ip":"${CONTEXT.ip}","ip":"198.51.100.1"}}`),
      message: 'the member "context.ip" appears twice',
      param: "context.ip",
    },
    {
      label: "a leading byte order mark (TextDecoder drops it, JSON.parse never sees it)",
      bytes: () => new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(earnText(`"points":1`))]),
      message: "the body starts with a byte order mark (EF BB BF); send UTF-8 JSON without one",
    },
    {
      label: "an overlong encoding",
      bytes: () => withRawBytes(earnText(`"points":1,"order_ref":"A-@"`), "@", [0xc1, 0xbf]),
      message: /^the body is not valid UTF-8 \(byte offset \d+\)$/,
    },
    {
      label: "a UTF-16 surrogate encoded in UTF-8 (CESU-8)",
      bytes: () => withRawBytes(earnText(`"points":1,"order_ref":"A-@"`), "@", [0xed, 0xa0, 0x80]),
      message: /^the body is not valid UTF-8/,
    },
    {
      label: "the escape of a lone surrogate (SQLite would keep broken bytes, responses show U+FFFD)",
      bytes: () => utf8(earnText(`"points":1,"order_ref":"A-\\ud800"`)),
      message: "order_ref: the string contains the escape \\ud800 of a lone surrogate, which is not a Unicode character",
      param: "order_ref",
    },
    {
      label: "a NUL character (SQLite's text functions stop at it)",
      bytes: () => utf8(earnText(`"points":1,"order_ref":"A-\\u0000-1"`)),
      message: "order_ref: the string contains the NUL character \\u0000, which no text field may hold",
      param: "order_ref",
    },
    {
      label: "an integer a double cannot hold (it would book 12345678901234567000)",
      bytes: () => utf8(earnText(`"points":12345678901234567891`)),
      message: "points: the number 12345678901234567891 cannot be represented exactly (it would read as 12345678901234567000)",
      param: "points",
    },
    {
      label: "a fraction too small for a double, which would book 1 point",
      bytes: () => utf8(earnText(`"points":1.0000000000000001`)),
      message: /^points: the number 1\.0000000000000001 cannot be represented exactly/,
      param: "points",
    },
    {
      label: "a member named __proto__",
      bytes: () => utf8(earnText(`"points":1,"__proto__":{"points":5}`)),
      message: /^the member "__proto__" is not allowed/,
      param: "__proto__",
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.label}`, async () => {
      await expectRefusedBody(await signedPost("/v1/earn", c.bytes(), `idk_${newJti()}`), c.message, c.param);
    });
  }

  it("refuses a Content-Type naming a charset other than UTF-8 (the bytes would be read as something else)", async () => {
    // Valid UTF-8 ("Ã©"), but sent as Latin-1 it means "Ã©", not "é": which one the partner meant is a guess.
    const bytes = utf8(earnText(`"points":1,"order_ref":"Ã©"`));
    const headers = { "Content-Type": "application/json; charset=iso-8859-1" };
    await expectRefusedBody(
      await signedPost("/v1/earn", bytes, `idk_${newJti()}`, headers),
      "the body must be UTF-8 JSON, and the Content-Type says charset=iso-8859-1",
    );
    const utf8Declared = await signedPost("/v1/earn", bytes, `idk_${newJti()}`, {
      "Content-Type": "application/json; charset=utf-8",
    });
    expect((await workerFetch(utf8Declared)).status).toBe(201);
  });

  it("an optional body (capture) is strict too", async () => {
    const hold = await partner.client.post<{ transaction: { id: string } }>("/v1/burns", {
      member_ref: ref,
      points: 1,
      capture: false,
      context: CONTEXT,
    });
    expect(hold.status, hold.text).toBe(201);
    const id = hold.ok ? hold.data.transaction.id : "";
    await expectRefusedBody(
      await signedPost(`/v1/burns/${id}/capture`, utf8(`{"points":1,"points":1}`), `idk_${newJti()}`),
      'the member "points" appears twice',
      "points",
    );
  });
});

describe("strict JSON bodies come after the signature checks (§2)", () => {
  it("a bad signature over a bad body is a 401, and no jti is stored", async () => {
    const bytes = utf8(earnText(`"points":1,"points":1000000`));
    const idempotencyKey = `idk_${newJti()}`;
    // Signed under the partner's kid with a key it never registered.
    const { privateJwk } = await newKeyPair();
    const forged = await signRequest(
      { ...partner.credentials, privateJwk },
      { method: "POST", target: "/v1/earn", body: bytes, idempotencyKey },
    );
    const headers = { "Coalition-Signature": forged, "Content-Type": "application/json", "Idempotency-Key": idempotencyKey };
    const got = await answer(await workerFetch(new Request(`${BASE_URL}/v1/earn`, { method: "POST", headers, body: bytes })));
    expect(got.status, got.text).toBe(401);
    expect(got.json.error.code).toBe("signature_invalid");
    expect(await sql("SELECT jti FROM request_nonces WHERE jti = ?1", decodeJwt(forged).jti)).toEqual([]);
  });

  it("a body signed as other bytes is request_mismatch, not invalid_body", async () => {
    const request = await signedPost("/v1/earn", utf8(earnText(`"points":1`)), `idk_${newJti()}`);
    const got = await answer(
      await workerFetch(
        new Request(request.url, { method: "POST", headers: request.headers, body: withRawBytes("{@}", "@", [0xff]) }),
      ),
    );
    expect(got.json.error.code, got.text).toBe("request_mismatch");
  });
});

describe("strict JSON bodies, operator API", () => {
  async function operatorCall(method: string, path: string, bytes: Uint8Array, idempotencyKey?: string): Promise<Request> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${await operatorToken()}`,
      "Content-Type": "application/json",
    };
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    return new Request(`${BASE_URL}/admin/v1${path}`, { method, headers, body: bytes });
  }

  it("a payment naming amount.value twice is refused; nothing is written and the key stays usable", async () => {
    const key = `idk_${newJti()}`;
    const body = (value: string) => `{"amount":{"value":"10.00","unit":"CNY"${value}},"reference":"wire 1"}`;
    await expectRefusedBody(
      await operatorCall("POST", `/partners/${partner.id}/payments`, utf8(body(`,"value":"10000.00"`)), key),
      'the member "amount.value" appears twice',
      "amount.value",
    );
    const corrected = await answer(
      await workerFetch(await operatorCall("POST", `/partners/${partner.id}/payments`, utf8(body("")), key)),
    );
    expect(corrected.status, corrected.text).toBe(201);
  });

  it("a payment reference with invalid UTF-8 is refused", async () => {
    const text = `{"amount":{"value":"1.00","unit":"CNY"},"reference":"wire @"}`;
    await expectRefusedBody(
      await operatorCall("POST", `/partners/${partner.id}/payments`, withRawBytes(text, "@", [0xff, 0xfe]), `idk_${newJti()}`),
      `the body is not valid UTF-8 (byte offset ${text.indexOf("@")})`,
    );
  });

  it("a risk rule naming max_points twice (in the array of rules) is refused; the rules stay as they were", async () => {
    const rule = `{"id":"earn-cap","action":"deny","applies_to":"earn","subject":"transaction","max_points":100,"max_points":1000000}`;
    await expectRefusedBody(
      await operatorCall("PUT", "/risk-rules", utf8(`{"rules":[${rule}]}`)),
      'the member "rules.0.max_points" appears twice',
      "rules.0.max_points",
    );
  });

  it("a partner key whose public_jwk has a __proto__ member is refused (it used to be dropped silently)", async () => {
    const { publicJwk } = await newKeyPair();
    const jwk = JSON.stringify(publicJwk).replace(/^\{/, '{"__proto__":{"kty":"EC"},');
    await expectRefusedBody(
      await operatorCall("POST", `/partners/${partner.id}/keys`, utf8(`{"kid":"proto-key","public_jwk":${jwk}}`)),
      /^the member "public_jwk.__proto__" is not allowed/,
      "public_jwk.__proto__",
    );
  });
});
