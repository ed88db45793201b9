import { randomBytes } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";

/**
 * Writes `file` so that a reader sees either no file, the old one or the whole new one, never a
 * part: the text goes to a temporary file in the same directory (same file system), which is
 * then renamed over `file` (rename(2) is atomic).
 */
export async function writeFileAtomic(file: string, text: string, mode = 0o600): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, text, { mode });
    await rename(temporary, file);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}
