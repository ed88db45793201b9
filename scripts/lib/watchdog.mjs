/**
 * The watchdog of `npm start` (scripts/lib/process-group.ts): a tiny process of its own (own
 * session, so a terminal's signals never reach it) that outlives `npm start` by design. Its
 * stdin is a pipe from `npm start`, which writes `+<pgid>` for each process group it starts
 * (wrangler and everything wrangler starts) and `-<pgid>` once a group is gone. When the pipe
 * closes, `npm start` has ended, whichever way (even SIGKILL, which no handler sees): whatever
 * is left of those groups gets SIGTERM, then SIGKILL, and the watchdog exits. Plain JavaScript,
 * so it starts fast on any Node without a loader.
 */
const groups = new Set();
let cleaning = false;

function alive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

function signal(pgid, name) {
  try {
    process.kill(-pgid, name);
  } catch {
    // Gone meanwhile.
  }
}

async function cleanUp() {
  if (cleaning) return;
  cleaning = true;
  const left = [...groups].filter(alive);
  for (const pgid of left) signal(pgid, "SIGTERM");
  const deadline = Date.now() + 5000;
  while (left.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  for (const pgid of left) if (alive(pgid)) signal(pgid, "SIGKILL");
  process.exit(0);
}

function onLine(line) {
  const m = /^([+-])(\d+)$/.exec(line.trim());
  if (!m) return;
  if (m[1] === "+") groups.add(Number(m[2]));
  else groups.delete(Number(m[2]));
}

// A terminal's Ctrl-C or hang-up is for `npm start`, which stops its groups itself; this process
// must stay until its pipe closes. SIGTERM (someone stopping it on purpose) cleans up first.
process.on("SIGINT", () => {});
process.on("SIGHUP", () => {});
process.on("SIGTERM", cleanUp);

let buffered = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buffered += chunk;
  for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
    onLine(buffered.slice(0, nl));
    buffered = buffered.slice(nl + 1);
  }
});
process.stdin.on("end", cleanUp);
process.stdin.on("error", cleanUp);
