/**
 * One load scenario with autocannon's programmatic API: a warm-up run (discarded), then a fixed
 * duration. Latencies are recorded per response (float ms, from request written to response
 * complete); percentiles are over 2xx responses (a pair's latency is the sum of its two
 * requests'). The rate counts 2xx responses (or complete pairs) per second; everything else is
 * reported as non-2xx or as a connection error/timeout. The bench worker's D1-Calls and
 * D1-Duration-Ms headers of the 2xx responses give D1 calls and SQL time per request under load.
 */
import autocannon, { type RequestSpec, type Result } from "autocannon";

export interface Scenario {
  name: string;
  /** A pair: requests[0] then requests[1] (e.g. hold then capture), reported as one unit. */
  pair?: boolean;
  requests: RequestSpec[];
}

export interface ScenarioResult {
  name: string;
  pair: boolean;
  seconds: number;
  /** 2xx responses (pairs: pairs whose two requests both succeeded). */
  ok: number;
  rate: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Non-2xx responses by status and error code, e.g. "422 insufficient_points": 3. */
  failures: Record<string, number>;
  /** Latencies of the 2xx responses (pairs: of the complete pairs), sorted, ms. */
  latencies: Float64Array;
  /** Over the 2xx responses (each request of a pair counts): their number, D1 calls and SQL ms summed. */
  d1: D1Totals;
}

export interface D1Totals {
  responses: number;
  calls: number;
  ms: number;
  maxCalls: number;
}

/** A header of autocannon's response (raw names, any case). */
function headerOf(headers: Record<string, string | string[]>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  return undefined;
}

/** One result from several rounds of the same scenario: rates over the summed time, pooled latencies. */
export function mergeResults(parts: readonly ScenarioResult[]): ScenarioResult {
  const first = parts[0];
  if (!first) throw new Error("nothing to merge");
  const latencies = new Float64Array(parts.reduce((n, p) => n + p.latencies.length, 0));
  let at = 0;
  for (const p of parts) {
    latencies.set(p.latencies, at);
    at += p.latencies.length;
  }
  latencies.sort();
  const failures: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.failures)) failures[k] = (failures[k] ?? 0) + v;
  const seconds = parts.reduce((n, p) => n + p.seconds, 0);
  const ok = parts.reduce((n, p) => n + p.ok, 0);
  const d1: D1Totals = {
    responses: parts.reduce((n, p) => n + p.d1.responses, 0),
    calls: parts.reduce((n, p) => n + p.d1.calls, 0),
    ms: parts.reduce((n, p) => n + p.d1.ms, 0),
    maxCalls: parts.reduce((n, p) => Math.max(n, p.d1.maxCalls), 0),
  };
  return {
    name: first.name,
    pair: first.pair,
    seconds,
    ok,
    rate: ok / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    non2xx: parts.reduce((n, p) => n + p.non2xx, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    failures,
    latencies,
    d1,
  };
}

export interface LoadOptions {
  baseUrl: string;
  seconds: number;
  warmupSeconds: number;
  connections: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

function failureKey(status: number, body: string): string {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === "string" ? `${status} ${code}` : String(status);
  } catch {
    return String(status);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runScenario(scenario: Scenario, options: LoadOptions): Promise<ScenarioResult> {
  const failures: Record<string, number> = {};
  const d1: D1Totals = { responses: 0, calls: 0, ms: 0, maxCalls: 0 };
  // Which request of the sequence the next tracker 'response' event is about: autocannon calls the
  // request's onResponse hook and then emits 'response' for the same response, synchronously.
  let lastIndex = 0;
  let lastOk = false;
  const requests = scenario.requests.map(
    (spec, index): RequestSpec => ({
      ...spec,
      onResponse: (status, body, context, headers) => {
        lastIndex = index;
        lastOk = status >= 200 && status < 300;
        if (!lastOk) {
          const key = failureKey(status, body);
          failures[key] = (failures[key] ?? 0) + 1;
        } else {
          const calls = Number(headerOf(headers, "d1-calls") ?? Number.NaN);
          if (Number.isFinite(calls)) {
            d1.responses++;
            d1.calls += calls;
            d1.maxCalls = Math.max(d1.maxCalls, calls);
            d1.ms += Number(headerOf(headers, "d1-duration-ms") ?? 0);
          }
        }
        spec.onResponse?.(status, body, context, headers);
      },
    }),
  );
  const base = {
    url: options.baseUrl,
    connections: options.connections,
    timeout: 30,
    pipelining: 1,
    requests,
  };

  if (options.warmupSeconds > 0) {
    await autocannon({ ...base, duration: options.warmupSeconds });
    for (const key of Object.keys(failures)) delete failures[key];
    Object.assign(d1, { responses: 0, calls: 0, ms: 0, maxCalls: 0 });
    // Let requests abandoned at the end of the warm-up finish on the server.
    await sleep(500);
  }

  const latencies: number[] = [];
  const firstOfPair = new Map<object, number>();
  let nonOkPairs = 0;
  const instance = autocannon({ ...base, duration: options.seconds });
  instance.on("response", (client: object, _status: number, _bytes: number, ms: number) => {
    if (!scenario.pair) {
      if (lastOk) latencies.push(ms);
      return;
    }
    if (lastIndex === 0) {
      if (lastOk) firstOfPair.set(client, ms);
      else nonOkPairs++;
    } else {
      const first = firstOfPair.get(client);
      firstOfPair.delete(client);
      if (lastOk && first !== undefined) latencies.push(first + ms);
      else nonOkPairs++;
    }
  });
  const result: Result = await instance;
  await sleep(500);
  const sorted = Float64Array.from(latencies).sort();
  const seconds = result.duration;
  return {
    name: scenario.name,
    pair: scenario.pair ?? false,
    seconds,
    ok: latencies.length,
    rate: latencies.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    non2xx: result.non2xx,
    errors: result.errors,
    failures: scenario.pair && nonOkPairs > 0 ? { ...failures, "pairs not completed": nonOkPairs } : failures,
    latencies: sorted,
    d1: { ...d1 },
  };
}
