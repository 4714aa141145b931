/**
 * Buffered output: lines are collected while a batch of events is drained and
 * written to stdout together, on the calling thread while stdout takes them
 * without blocking, else through the event loop.
 *
 * @module
 */
import { libc, POLLFD } from "../ffi/libc.ts";

const encoder = new TextEncoder();

/**
 * The most written at once without blocking: a pipe or terminal that polls
 * writable has room for this much (PIPE_BUF; pipe_poll in fs/pipe.c reports
 * POLLOUT for a free page).
 */
const CHUNK_BYTES = 4096;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
/** ioctl(2) request: bytes in a pipe not read yet (pipe_ioctl in fs/pipe.c). */
const FIONREAD = 0x541b;
/**
 * The most a pipe may hold (fs.pipe-max-size's default): written bytes are
 * kept this far back, so that lines a reader left unread can be counted.
 */
const PIPE_MAX_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/** Where batches go: Deno.stdout, or anything that writes like it. */
export interface Sink {
  write(bytes: Uint8Array): Promise<number>;
  writeSync(bytes: Uint8Array): number;
}

/** Writing the output failed for a reason other than a reader that went away. */
export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputError";
  }
}

/** Collects lines and writes them together. */
export class BatchWriter {
  #lines: string[] = [];
  /** Bytes of earlier lines not written yet, which go first. */
  #unwritten: Uint8Array = new Uint8Array(0);
  #out: Sink;
  #fd: number;
  #pollfd = new Uint8Array(POLLFD.size);
  /** The last bytes written, newest last, at most about PIPE_MAX_BYTES. */
  #recent: Uint8Array[] = [];
  #recentBytes = 0;
  /** Lines a reader that went away left unread in the pipe. */
  #unread = 0;
  /** The flush in progress, which the next one waits for. */
  #flushing: Promise<void> = Promise.resolve();

  /** Writes to `out`, whose file descriptor is `fd`. */
  constructor(out: Sink = Deno.stdout, fd = 1) {
    this.#out = out;
    this.#fd = fd;
  }

  /** Queues one line (without its newline). */
  push(line: string): void {
    this.#lines.push(line);
  }

  /** Lines waiting to be written. */
  get pending(): number {
    return this.#lines.length;
  }

  /**
   * Lines captured but not (or not wholly) written, and those a reader that
   * went away left unread in its pipe: what the user never saw.
   */
  unprinted(): number {
    return this.#lines.length + newlines(this.#unwritten) + this.#unread;
  }

  #written(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.#recent.push(bytes);
    this.#recentBytes += bytes.byteLength;
    while (this.#recentBytes - this.#recent[0].byteLength >= PIPE_MAX_BYTES) {
      this.#recentBytes -= this.#recent.shift()!.byteLength;
    }
  }

  /** After EPIPE: counts the lines of the bytes the reader left in the pipe. */
  #countUnread(): void {
    try {
      // On a socket, FIONREAD would count what came in instead.
      if (!Deno.statSync(`/proc/self/fd/${this.#fd}`).isFifo) return;
    } catch {
      return;
    }
    const count = new Int32Array(1);
    if (libc().ioctl(this.#fd, BigInt(FIONREAD), new Uint8Array(count.buffer)) !== 0) return;
    let left = count[0];
    for (let i = this.#recent.length - 1; i >= 0 && left > 0; i--) {
      const chunk = this.#recent[i];
      const take = Math.min(left, chunk.byteLength);
      this.#unread += newlines(chunk.subarray(chunk.byteLength - take));
      left -= take;
    }
    this.#recent = [];
    this.#recentBytes = 0;
  }

  /** What is queued, as bytes to write (and nothing queued any more). */
  #take(): Uint8Array {
    if (this.#lines.length > 0) {
      const text = encoder.encode(this.#lines.join("\n") + "\n");
      this.#lines = [];
      const before = this.#unwritten;
      this.#unwritten = before.byteLength === 0
        ? text
        : new Uint8Array(before.byteLength + text.byteLength);
      if (before.byteLength > 0) {
        this.#unwritten.set(before);
        this.#unwritten.set(text, before.byteLength);
      }
    }
    const bytes = this.#unwritten;
    this.#unwritten = new Uint8Array(0);
    return bytes;
  }

  /** True if a write of CHUNK_BYTES would not block (or would fail at once). */
  #writable(): boolean {
    const view = new DataView(this.#pollfd.buffer);
    view.setInt32(POLLFD.fd, this.#fd, true);
    view.setInt16(POLLFD.events, POLLOUT, true);
    view.setInt16(POLLFD.revents, 0, true);
    if (libc().poll(this.#pollfd, 1n, 0) !== 1) return false;
    return (view.getInt16(POLLFD.revents, true) & (POLLOUT | POLLERR | POLLHUP)) !== 0;
  }

  /**
   * Writes what is queued on this thread, as long as stdout takes it without
   * blocking; true if everything went. Otherwise (a reader that is behind, or
   * none at all) the rest stays queued for `flush()`, whose wait leaves the
   * event loop free, so that a signal can still end the run. Throws as `flush()`.
   */
  flushHere(): boolean {
    let bytes = this.#take();
    try {
      while (bytes.byteLength > 0 && this.#writable()) {
        const n = this.#out.writeSync(bytes.subarray(0, CHUNK_BYTES));
        this.#written(bytes.subarray(0, n));
        bytes = bytes.subarray(n);
      }
    } catch (error) {
      // A stdout someone made non-blocking can still refuse: flush() waits for it.
      if (!(error instanceof Deno.errors.WouldBlock)) throw this.#failed(error, bytes);
    }
    this.#unwritten = bytes;
    return bytes.byteLength === 0;
  }

  /**
   * Writes every queued line; throws Deno.errors.BrokenPipe if the reader went
   * away, an OutputError naming the failed write otherwise (e.g. a full disk).
   */
  flush(): Promise<void> {
    // One at a time: each writes what the one before left.
    const flushed = this.#flushing.then(() => this.#flush());
    this.#flushing = flushed.catch(() => {});
    return flushed;
  }

  async #flush(): Promise<void> {
    // What is being written stays counted as unwritten until it is.
    this.#unwritten = this.#take();
    try {
      while (this.#unwritten.byteLength > 0) {
        // At most PIPE_BUF at once, which a pipe takes whole or not at all:
        // a write still blocked when the run gives up on stdout has put none
        // of its lines in the pipe, so they are all counted as unprinted.
        const n = await this.#out.write(this.#unwritten.subarray(0, CHUNK_BYTES));
        this.#written(this.#unwritten.subarray(0, n));
        this.#unwritten = this.#unwritten.subarray(n);
      }
    } catch (error) {
      throw this.#failed(error, this.#unwritten);
    }
  }

  /** A write failed with `error`: `bytes` stay unwritten; returns what to throw. */
  #failed(error: unknown, bytes: Uint8Array): unknown {
    this.#unwritten = bytes;
    if (error instanceof Deno.errors.BrokenPipe) this.#countUnread();
    return outputError(error);
  }
}

function newlines(bytes: Uint8Array): number {
  let count = 0;
  for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, i + 1)) count++;
  return count;
}

/** A write's error as flush() throws it. */
function outputError(error: unknown): unknown {
  if (error instanceof Deno.errors.BrokenPipe || !(error instanceof Error)) return error;
  // Deno's text ends in " (os error N)": the C library's text is enough.
  return new OutputError(`write to stdout: ${error.message.replace(/ \(os error \d+\)$/, "")}`);
}
