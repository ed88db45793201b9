/**
 * `npm run cli -- …`: calls the local exchange as a partner (signed requests, packages/partner-sdk) or as the
 * operator (a freshly minted bearer token), with the credentials `npm start` wrote to .dev/local.json.
 * Prints the HTTP status (stderr) and the JSON body (stdout); exits 0 on 2xx, 1 otherwise.
 */
import { parseArgs } from "node:util";
import { PartnerClient } from "../packages/partner-sdk/src/index";
import { type HttpResult, operatorCall } from "./lib/http";
import { type LocalConfig, partnerCredentials, readLocalConfig } from "./lib/local-config";
import { mintOperatorToken } from "./lib/operator-token";
import { signedCurl, verifyCommand } from "./lib/partner-commands";

const USAGE = `Usage: npm run cli -- [--config .dev/local.json] [--base-url URL] <command>

Partner calls (signed with the partner's key, exactly as a partner integration would):
  partner <id> get <path>                      e.g. partner brew-coffee get /v1/partner
  partner <id> post <path> '<json>' [--idempotency-key K]
  partner <id> put <path> '<json>'
  sign <id> <method> <path> ['<json>'] [--idempotency-key K]
                                               prints the headers of a signed request and a curl command
                                               sending it (good once, within 300 s), e.g.
                                               sign brew-coffee get /v1/partner

Operator calls (a fresh operator token: scope admin, or --scope read; --sub names you in the audit log):
  operator get|post|patch|put|delete <path> ['<json>'] [--idempotency-key K]
                                               <path> is /admin/v1/… (or just /partners)
  operator token                               prints a token, for curl -H "Authorization: Bearer …"

Shortcuts:
  earn <partner> <member_ref> <amount> <unit>  POST /v1/earn
  burn <partner> <member_ref> <points>         POST /v1/burns (captured at once)
  balance <partner> <member_ref>               GET /v1/members/{member_ref}/balance
  verify <partner> <settlement_id>             fetch the partner's statement and all its lines, check the
                                               signature against /.well-known/jwks.json, the digest and the
                                               totals; prints OK or what differs (exit 1)

Options: --ip (the member's IP for earn/burn context, default 127.0.0.1)`;

class UsageError extends Error {}

function parseJson(raw: string | undefined, what: string): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch (e) {
    throw new UsageError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

function need(value: string | undefined, name: string): string {
  if (value === undefined || value === "") throw new UsageError(`missing <${name}>`);
  return value;
}

function asPath(raw: string | undefined): string {
  const path = need(raw, "path");
  return path.startsWith("/") ? path : `/${path}`;
}

function memberPath(ref: string): string {
  return `/v1/members/${encodeURIComponent(ref)}`;
}

function print(result: HttpResult, extra: string[] = []): number {
  const notes = [result.headers.get("Idempotent-Replayed") === "true" ? "Idempotent-Replayed: true" : "", ...extra].filter(
    Boolean,
  );
  process.stderr.write(`HTTP ${result.status}${notes.length > 0 ? `  (${notes.join(", ")})` : ""}\n`);
  if (result.json !== undefined) process.stdout.write(`${JSON.stringify(result.json, null, 2)}\n`);
  else if (result.text) process.stdout.write(`${result.text}\n`);
  return result.ok ? 0 : 1;
}

async function partnerRequest(
  config: LocalConfig,
  partnerId: string,
  method: "GET" | "POST" | "PUT",
  path: string,
  body: unknown,
  idempotencyKey: string | undefined,
): Promise<number> {
  const client = new PartnerClient({
    baseUrl: config.base_url,
    credentials: partnerCredentials(config, partnerId),
    maxRetries: 1,
  });
  const key = method === "POST" ? (idempotencyKey ?? `cli_${crypto.randomUUID()}`) : idempotencyKey;
  const result =
    method === "GET"
      ? await client.get(path)
      : method === "PUT"
        ? await client.put(path, body ?? {}, key === undefined ? {} : { idempotencyKey: key })
        : await client.post(path, body ?? {}, { idempotencyKey: key! });
  const printed: HttpResult = {
    status: result.status,
    ok: result.ok,
    text: result.text,
    json: parse(result.text),
    headers: result.response.headers,
  };
  return print(printed, method === "POST" ? [`Idempotency-Key: ${key}`] : []);
}

function parse(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      "base-url": { type: "string" },
      "idempotency-key": { type: "string" },
      scope: { type: "string" },
      sub: { type: "string" },
      ip: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || command === undefined || command === "help") {
    console.log(USAGE);
    return command === undefined && !values.help ? 1 : 0;
  }
  const config = await readLocalConfig(values.config);
  if (values["base-url"]) config.base_url = values["base-url"];
  const idk = values["idempotency-key"];
  const context = { ip: values.ip ?? "127.0.0.1" };

  switch (command) {
    case "partner": {
      const [id, verb, path, json] = args;
      const method = need(verb, "get|post|put").toUpperCase();
      if (method !== "GET" && method !== "POST" && method !== "PUT")
        throw new UsageError(`partner calls are get, post or put, not ${verb}`);
      if (method === "GET" && json !== undefined) throw new UsageError("a GET takes no body");
      return partnerRequest(config, need(id, "partner id"), method, asPath(path), parseJson(json, "the body"), idk);
    }
    case "sign": {
      const [id, verb, path, body] = args;
      const method = need(verb, "method").toUpperCase();
      if (!["GET", "POST", "PUT"].includes(method)) throw new UsageError(`partner calls are get, post or put, not ${verb}`);
      if (method === "GET" && body !== undefined) throw new UsageError("a GET takes no body");
      parseJson(body, "the body"); // a typo is reported here, not as the exchange's invalid_body
      const signed = await signedCurl({
        baseUrl: config.base_url,
        credentials: partnerCredentials(config, need(id, "partner id")),
        method,
        target: asPath(path),
        body,
        idempotencyKey: idk,
      });
      for (const [name, value] of signed.headers) console.log(`${name}: ${value}`);
      console.log(`\n${signed.curl}`);
      process.stderr.write("(single use: a fresh jti, valid for 300 s from now)\n");
      return 0;
    }
    case "operator": {
      const [verb, path, json] = args;
      const token = () => mintOperatorToken(config.operator, { scope: values.scope ?? "admin", sub: values.sub ?? "local-cli" });
      if (verb === "token") {
        console.log(await token());
        return 0;
      }
      const method = need(verb, "get|post|patch|put|delete|token").toUpperCase();
      if (!["GET", "POST", "PATCH", "PUT", "DELETE"].includes(method)) throw new UsageError(`unknown operator verb ${verb}`);
      const raw = asPath(path);
      const target = raw.startsWith("/admin/") ? raw : `/admin/v1${raw}`;
      const body = parseJson(json, "the body") ?? (method === "POST" || method === "PUT" || method === "PATCH" ? {} : undefined);
      const result = await operatorCall(config.base_url, await token(), method, target, body, idk ? { idempotencyKey: idk } : {});
      return print(result);
    }
    case "earn": {
      const [partner, ref, value, unit] = args;
      const body = {
        member_ref: need(ref, "member_ref"),
        amount: { value: need(value, "amount"), unit: need(unit, "unit") },
        context,
      };
      return partnerRequest(config, need(partner, "partner"), "POST", "/v1/earn", body, idk);
    }
    case "burn": {
      const [partner, ref, points] = args;
      const n = Number(need(points, "points"));
      if (!Number.isSafeInteger(n) || n < 1) throw new UsageError("<points> must be a positive integer");
      const body = { member_ref: need(ref, "member_ref"), points: n, context };
      return partnerRequest(config, need(partner, "partner"), "POST", "/v1/burns", body, idk);
    }
    case "balance": {
      const [partner, ref] = args;
      return partnerRequest(
        config,
        need(partner, "partner"),
        "GET",
        `${memberPath(need(ref, "member_ref"))}/balance`,
        undefined,
        undefined,
      );
    }
    case "verify": {
      const [partner, settlementId] = args;
      const credentials = partnerCredentials(config, need(partner, "partner"));
      return verifyCommand(config.base_url, credentials, need(settlementId, "settlement_id"));
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`${(e as Error).message}\n\n${USAGE}`);
    } else if (e instanceof TypeError && /fetch failed/.test(e.message)) {
      console.error(
        `cannot reach the exchange (${(e.cause as Error | undefined)?.message ?? e.message}): is \`npm start\` running?`,
      );
    } else {
      console.error(e instanceof Error ? e.message : String(e));
    }
    process.exit(1);
  },
);
