import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** Whether nothing listens on host:port (we can bind it ourselves). */
export function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EADDRINUSE" || e.code === "EACCES") resolve(false);
      else reject(e);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** GET {baseUrl}/health answers 200 (within a short per-try timeout). */
export async function isHealthy(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * Polls GET /health until it answers 200. Gives up after `timeoutMs`, or as soon as `stillRunning`
 * says the server process is gone.
 */
export async function waitForHealth(
  baseUrl: string,
  options: { timeoutMs?: number; stillRunning?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    if (options.stillRunning && !options.stillRunning()) throw new Error("the server process exited before it was ready");
    if (await isHealthy(baseUrl)) return;
    await sleep(250);
  }
  throw new Error(`${baseUrl}/health did not answer 200 within ${Math.round((options.timeoutMs ?? 90_000) / 1000)} s`);
}
