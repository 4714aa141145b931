/**
 * `--textfile PATH`: the metrics written for node_exporter's textfile
 * collector, replaced whole by a rename so that a reader never sees a file
 * half written.
 *
 * @module
 */

/**
 * Writes `text` to `path` atomically: into a new file beside it (same
 * directory, so the rename does not cross file systems), then renamed over
 * it. The new file is created exclusively (O_CREAT|O_EXCL, which does not
 * follow a symbolic link in its place) with mode 0644 less the umask (Deno
 * has no fchmod, and a chmod by path could follow a link put in its place); a
 * rename replaces a link at `path` itself, never its target.
 */
export function writeTextfile(path: string, text: string): void {
  const slash = path.lastIndexOf("/");
  const dir = path.slice(0, slash + 1); // "" for a file in the working directory
  const base = path.slice(slash + 1);
  const temporary = `${dir}.${base}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  const file = Deno.openSync(temporary, { write: true, createNew: true, mode: 0o644 });
  try {
    const bytes = new TextEncoder().encode(text);
    for (let done = 0; done < bytes.byteLength;) done += file.writeSync(bytes.subarray(done));
    file.close();
    Deno.renameSync(temporary, path);
  } catch (error) {
    try {
      file.close();
    } catch {
      // Closed above.
    }
    try {
      Deno.removeSync(temporary);
    } catch {
      // Never made, or already renamed.
    }
    throw error;
  }
}
