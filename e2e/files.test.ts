import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { writeFileAtomic } from "../scripts/lib/files";
import { removeLocalConfig } from "../scripts/lib/local-config";

/**
 * local.json is written in one step (scripts/lib/files.ts): a reader polling the file while a
 * large one replaces it sees the old or the new text, never a part. Would fail if the text were
 * written in place (writeFile truncates first, then writes in chunks).
 */
describe("writeFileAtomic", () => {
  it("a reader sees the old or the whole new file, never a part; no temporary file is left; mode 0600", async () => {
    const dir = await mkdtemp(join(tmpdir(), "atomic-"));
    try {
      const file = join(dir, "local.json");
      const texts = ["a", "b", "c", "d"].map((c) => `${JSON.stringify({ fill: c.repeat(4 * 1024 * 1024) })}\n`);
      await writeFile(file, texts[0]!);
      let writing = true;
      const reads: string[] = [];
      const reader = (async () => {
        while (writing) reads.push(await readFile(file, "utf8").catch(() => "(missing)"));
      })();
      for (const text of texts.slice(1)) await writeFileAtomic(file, text);
      writing = false;
      await reader;
      assert.ok(reads.length > 0);
      for (const read of reads) assert.ok(texts.includes(read), `a read saw ${read.length} characters: neither file`);
      assert.deepEqual(await readdir(dir), ["local.json"]);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      await removeLocalConfig(file);
      await removeLocalConfig(file); // a missing file is fine
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
