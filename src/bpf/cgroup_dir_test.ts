import assert from "node:assert/strict";
import { cgroupDirectory } from "./cgroup_dir.ts";

/** A mountinfo with one cgroup2 mount of `root` at `mountPoint`. */
function mountinfo(mountPoint: string, root: string): string {
  const path = Deno.makeTempFileSync();
  Deno.writeTextFileSync(
    path,
    `30 25 0:26 / /proc rw - proc proc rw\n` +
      `31 25 0:27 ${root} ${mountPoint} rw,relatime shared:9 - cgroup2 cgroup2 rw\n`,
  );
  return path;
}

Deno.test("a cgroup v2 directory's id is its inode number, its level counts from the hierarchy's root", () => {
  const mount = Deno.makeTempDirSync();
  Deno.mkdirSync(`${mount}/a/b`, { recursive: true });
  const whole = mountinfo(mount, "/");
  assert.deepEqual(cgroupDirectory(`${mount}/a/b`, whole), {
    path: `${mount}/a/b`,
    id: Deno.statSync(`${mount}/a/b`).ino,
    level: 2,
  });
  assert.equal(cgroupDirectory(`${mount}/`, whole).level, 0);
  assert.equal(cgroupDirectory(`${mount}/a/../a`, whole).level, 1);
  // A mount of a subtree (e.g. inside a container): levels count from the real root.
  assert.equal(cgroupDirectory(`${mount}/a`, mountinfo(mount, "/system.slice/x")).level, 3);
  assert.throws(
    () => cgroupDirectory("/tmp", whole),
    /^Error: \/tmp: not a directory of the cgroup v2 hierarchy/,
  );
  assert.throws(() => cgroupDirectory(`${mount}/none`, whole), /none: /);
  Deno.writeTextFileSync(`${mount}/a/file`, "");
  assert.throws(() => cgroupDirectory(`${mount}/a/file`, whole), /not a directory/);
  Deno.removeSync(mount, { recursive: true });
});
