/**
 * A child's output read as text while it runs, for tests that wait for
 * lines with a time limit.
 *
 * @module
 */

const decoder = new TextDecoder();

/**
 * A stream read as text, one read at a time: a read that a time-out ends
 * the wait for is still pending, and what it returns later is kept.
 */
export class TextStream {
  text = "";
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  #ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Reads until `done(text)` holds, the stream ends or `ms` pass; returns all the text read. */
  async until(done: (text: string) => boolean, ms: number): Promise<string> {
    const deadline = Date.now() + ms;
    while (!done(this.text) && !this.#ended) {
      this.#pending ??= this.#reader.read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const result = await Promise.race([
        this.#pending,
        new Promise<undefined>((r) =>
          timer = setTimeout(() => r(undefined), Math.max(0, deadline - Date.now()))
        ),
      ]);
      clearTimeout(timer);
      if (result === undefined) break;
      this.#pending = undefined;
      if (result.value) this.text += decoder.decode(result.value, { stream: true });
      if (result.done) this.#ended = true;
    }
    return this.text;
  }

  /** Reads until nothing comes for `ms` or the stream ends; returns all the text read. */
  async untilQuiet(ms: number): Promise<string> {
    for (let before = -1; before !== this.text.length && !this.#ended;) {
      before = this.text.length;
      await this.until(() => false, ms);
    }
    return this.text;
  }

  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}
