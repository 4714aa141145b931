/**
 * `--textfile PATH`: the metrics written for node_exporter's textfile
 * collector, replaced whole by a rename so that a reader never sees a file
 * half written.
 *
 * Every write goes through a descriptor of PATH's directory, opened once at
 * start, never through its name again: the directory's owner (a user, for a
 * file in a directory of theirs) could otherwise swap it, or any directory
 * above it, for a symbolic link after the start, and lead root's next write
 * anywhere. So the file stays in the directory first opened, whatever its
 * name leads to later; a directory that is moved is followed, one that is
 * removed makes each later write fail (reported, and tried again).
 *
 * @module
 */
import { cString, Errno, errno, errorText, libc, O } from "../ffi/libc.ts";

/** The C library's text for the errno of the call that just failed. */
function failure(code = errno()): Error {
  return new Error(errorText(code));
}

function isSymlink(path: string): boolean {
  try {
    return Deno.lstatSync(path).isSymlink;
  } catch {
    return false;
  }
}

/** The textfile of one run: its directory, held open; `close()` is safe to call twice. */
export class Textfile {
  #dir: number;
  readonly #base: Uint8Array<ArrayBuffer>;
  readonly #name: string;

  private constructor(dir: number, name: string) {
    this.#dir = dir;
    this.#name = name;
    this.#base = cString(name);
  }

  /**
   * Opens the directory of `path` (the working directory for a bare name).
   * Its last component must not be a symbolic link (O_NOFOLLOW): give the
   * directory it leads to. Throws an Error with the C library's text.
   */
  static open(path: string): Textfile {
    const slash = path.lastIndexOf("/");
    // Without a trailing slash, which would make the lookup follow a link.
    const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
    const name = path.slice(slash + 1);
    const fd = libc().open(cString(dir), O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0);
    if (fd < 0) {
      const code = errno();
      // O_DIRECTORY with O_NOFOLLOW refuses a link as ENOTDIR; the name says which it was.
      if (code === Errno.ENOTDIR && isSymlink(dir)) {
        throw new Error(`${dir} is a symbolic link: give the directory it leads to`);
      }
      throw failure(code);
    }
    return new Textfile(fd, name);
  }

  /**
   * Writes `text` atomically: into a new file in the directory, then renamed
   * over the textfile. The new file is created exclusively (O_CREAT|O_EXCL,
   * which does not follow a symbolic link in its place) with mode 0644 less
   * the umask; a rename replaces a link at the textfile's name itself, never
   * its target. Throws an Error with the C library's text; nothing is left
   * behind then.
   */
  write(text: string): void {
    const lib = libc();
    const temporary = cString(`.${this.#name}.${Deno.pid}.${crypto.randomUUID()}.tmp`);
    const fd = lib.openat_create(
      this.#dir,
      temporary,
      O.WRONLY | O.CREAT | O.EXCL | O.CLOEXEC,
      0o644,
    );
    if (fd < 0) throw failure();
    let open = true;
    let renamed = false;
    try {
      const bytes = new TextEncoder().encode(text);
      for (let done = 0; done < bytes.byteLength;) {
        const n = Number(lib.write(fd, bytes.subarray(done), BigInt(bytes.byteLength - done)));
        if (n < 0 && errno() === Errno.EINTR) continue;
        if (n < 0) throw failure();
        done += n;
      }
      open = false; // closed even when close() fails
      if (lib.close(fd) < 0) throw failure();
      if (lib.renameat(this.#dir, temporary, this.#dir, this.#base) < 0) throw failure();
      renamed = true;
    } finally {
      if (open) lib.close(fd);
      if (!renamed) lib.unlinkat(this.#dir, temporary, 0);
    }
  }

  /** Closes the directory. */
  close(): void {
    if (this.#dir >= 0) libc().close(this.#dir);
    this.#dir = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
