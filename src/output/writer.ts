/**
 * Buffered output: lines are collected while a batch of events is drained and
 * written to stdout in one call per batch.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Where batches go: Deno.stdout, or anything that writes like it. */
export interface Sink {
  write(bytes: Uint8Array): Promise<number>;
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
  #out: Sink;

  constructor(out: Sink = Deno.stdout) {
    this.#out = out;
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
   * Writes every queued line; throws Deno.errors.BrokenPipe if the reader went
   * away, an OutputError naming the failed write otherwise (e.g. a full disk).
   */
  async flush(): Promise<void> {
    if (this.#lines.length === 0) return;
    let bytes = encoder.encode(this.#lines.join("\n") + "\n");
    this.#lines = [];
    try {
      while (bytes.byteLength > 0) {
        const n = await this.#out.write(bytes);
        bytes = bytes.subarray(n);
      }
    } catch (error) {
      if (error instanceof Deno.errors.BrokenPipe || !(error instanceof Error)) throw error;
      // Deno's text ends in " (os error N)": the C library's text is enough.
      throw new OutputError(`write to stdout: ${error.message.replace(/ \(os error \d+\)$/, "")}`);
    }
  }
}
