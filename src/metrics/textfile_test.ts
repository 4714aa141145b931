import assert from "node:assert/strict";
import { join } from "node:path";
import { Textfile } from "./textfile.ts";

/** Writes `text` to `path` through a Textfile of its own. */
function writeTextfile(path: string, text: string): void {
  using textfile = Textfile.open(path);
  textfile.write(text);
}

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

Deno.test(
  "writes go into the directory first opened, even after its name leads elsewhere",
  inTempDir((dir) => {
    const first = join(dir, "first");
    const other = join(dir, "other");
    Deno.mkdirSync(first);
    Deno.mkdirSync(other);
    using textfile = Textfile.open(join(first, "t.prom"));
    Deno.renameSync(first, join(dir, "moved"));
    Deno.symlinkSync(other, first);
    textfile.write("a 1\n");
    assert.deepEqual([...Deno.readDirSync(other)], []);
    assert.equal(Deno.readTextFileSync(join(dir, "moved", "t.prom")), "a 1\n");
  }),
);

Deno.test(
  "a directory that is a symbolic link is refused at open",
  inTempDir((dir) => {
    Deno.mkdirSync(join(dir, "real"));
    Deno.symlinkSync(join(dir, "real"), join(dir, "link"));
    assert.throws(
      () => Textfile.open(join(dir, "link", "t.prom")),
      new Error(`${dir}/link is a symbolic link: give the directory it leads to`),
    );
  }),
);
