/**
 * Buffered output: lines are collected while a batch of events is drained and
 * written to stdout together, on the calling thread while stdout takes them
 * without blocking, else through the event loop.
 *
 * @module
 */
import { libc } from "../ffi/libc.ts";

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
  #pollfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }

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
    view.setInt32(0, this.#fd, true);
    view.setInt16(4, POLLOUT, true);
    view.setInt16(6, 0, true);
    if (libc().poll(this.#pollfd, 1n, 0) !== 1) return false;
    return (view.getInt16(6, true) & (POLLOUT | POLLERR | POLLHUP)) !== 0;
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
        bytes = bytes.subarray(this.#out.writeSync(bytes.subarray(0, CHUNK_BYTES)));
      }
    } catch (error) {
      // A stdout someone made non-blocking can still refuse: flush() waits for it.
      if (!(error instanceof Deno.errors.WouldBlock)) throw outputError(error);
    }
    this.#unwritten = bytes;
    return bytes.byteLength === 0;
  }

  /**
   * Writes every queued line; throws Deno.errors.BrokenPipe if the reader went
   * away, an OutputError naming the failed write otherwise (e.g. a full disk).
   */
  async flush(): Promise<void> {
    let bytes = this.#take();
    try {
      while (bytes.byteLength > 0) {
        const n = await this.#out.write(bytes);
        bytes = bytes.subarray(n);
      }
    } catch (error) {
      throw outputError(error);
    }
  }
}

/** A write's error as flush() throws it. */
function outputError(error: unknown): unknown {
  if (error instanceof Deno.errors.BrokenPipe || !(error instanceof Error)) return error;
  // Deno's text ends in " (os error N)": the C library's text is enough.
  return new OutputError(`write to stdout: ${error.message.replace(/ \(os error \d+\)$/, "")}`);
}
