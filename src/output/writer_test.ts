import assert from "node:assert/strict";
import { BatchWriter } from "./writer.ts";

/**
 * A FIFO: `file` its write end (opened for reading too, so that the open does
 * not wait for a reader), `fd` that end's descriptor number, `reader` a
 * read end of its own (one file's operations wait for each other).
 */
function openFifo(): {
  file: Deno.FsFile;
  fd: number;
  reader: Deno.FsFile;
  [Symbol.dispose](): void;
} {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/fifo`;
  new Deno.Command("mkfifo", { args: [path] }).outputSync();
  const file = Deno.openSync(path, { read: true, write: true });
  const fd = [...Deno.readDirSync("/proc/self/fd")]
    .map((entry) => Number(entry.name))
    .find((n) => {
      try {
        return Deno.readLinkSync(`/proc/self/fd/${n}`) === path;
      } catch {
        return false;
      }
    })!;
  const reader = Deno.openSync(path, { read: true });
  return {
    file,
    fd,
    reader,
    [Symbol.dispose]() {
      reader.close();
      file.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

Deno.test("flushHere writes what a pipe takes without blocking; flush() writes the rest once it is read", async () => {
  using fifo = openFifo();
  const out = new BatchWriter(fifo.file, fifo.fd);
  // 2,000 lines of 100 bytes: more than the pipe's 64 KiB.
  const lines = Array.from({ length: 2000 }, (_, i) => String(i).padStart(99, "."));
  for (const line of lines) out.push(line);
  assert.equal(out.flushHere(), false, "the pipe cannot hold it all");
  // 16 pages of 4 KiB went: 655 whole lines; the one cut in two is unprinted.
  assert.equal(out.unprinted(), 2000 - Math.floor(65536 / 100));

  // Reading makes room; flush() writes what is left, in order.
  const expected = lines.join("\n") + "\n";
  let read = "";
  const decoder = new TextDecoder();
  const flushed = out.flush();
  const buffer = new Uint8Array(65536);
  while (read.length < expected.length) {
    const n = await fifo.reader.read(buffer);
    read += decoder.decode(buffer.subarray(0, n!));
  }
  await flushed;
  assert.equal(read, expected);
  assert.equal(out.unprinted(), 0);
});

Deno.test("flushHere writes everything at once where nothing blocks", () => {
  using fifo = openFifo();
  const out = new BatchWriter(fifo.file, fifo.fd);
  out.push("one");
  out.push("two");
  assert.equal(out.flushHere(), true);
  assert.equal(out.pending, 0);
  const buffer = new Uint8Array(16);
  const n = fifo.reader.readSync(buffer);
  assert.equal(new TextDecoder().decode(buffer.subarray(0, n!)), "one\ntwo\n");
});
