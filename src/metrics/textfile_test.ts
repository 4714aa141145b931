import assert from "node:assert/strict";
import { join } from "node:path";
import { writeTextfile } from "./textfile.ts";

/** A test body run in a new temporary directory, removed after it however it ends. */
function inTempDir(body: (dir: string) => void): () => void {
  return () => {
    const dir = Deno.makeTempDirSync();
    try {
      body(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

Deno.test(
  "writeTextfile replaces the file whole, mode 0644, and leaves nothing beside it",
  inTempDir((dir) => {
    const path = join(dir, "t.prom");
    writeTextfile(path, "a 1\n");
    writeTextfile(path, "a 2\n");
    assert.equal(Deno.readTextFileSync(path), "a 2\n");
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o644);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["t.prom"]);
  }),
);

Deno.test(
  "a symbolic link at the path is replaced, and its target left alone",
  inTempDir((dir) => {
    const target = join(dir, "target");
    Deno.writeTextFileSync(target, "precious\n");
    const path = join(dir, "t.prom");
    Deno.symlinkSync(target, path);
    writeTextfile(path, "a 1\n");
    assert.equal(Deno.readTextFileSync(target), "precious\n");
    assert.equal(Deno.lstatSync(path).isSymlink, false);
    assert.equal(Deno.readTextFileSync(path), "a 1\n");
  }),
);

Deno.test(
  "a write that fails leaves no temporary file",
  inTempDir((dir) => {
    // A directory at the path: the rename fails.
    const path = join(dir, "t.prom");
    Deno.mkdirSync(path);
    assert.throws(() => writeTextfile(path, "a 1\n"));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["t.prom"]);
  }),
);
