import assert from "node:assert/strict";
import { cgroupV2Root } from "./cgroup_root.ts";

function rootOf(mountinfo: string): string | undefined {
  const path = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(path, mountinfo);
    return cgroupV2Root(path);
  } finally {
    Deno.removeSync(path);
  }
}

Deno.test("the cgroup v2 root is found on unified and hybrid hosts, not in a bind-mounted subtree", () => {
  const v1 = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n";
  assert.equal(
    rootOf(v1 + "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"),
    "/sys/fs/cgroup/unified",
  );
  assert.equal(
    rootOf("30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"),
    "/sys/fs/cgroup",
  );
  assert.equal(
    rootOf(
      "50 23 0:26 /user.slice /mnt/a rw - cgroup2 cgroup2 rw\n" +
        "51 23 0:26 / /mnt/with\\040space rw - cgroup2 cgroup2 rw\n",
    ),
    "/mnt/with space",
  );
  assert.equal(rootOf(v1), undefined);
});
