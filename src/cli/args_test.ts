import assert from "node:assert/strict";
import { familyFilter, mapPath, MAX_PORTS, pid, portList, seconds } from "./args.ts";

Deno.test("a PID is a number from 1 to 2^31-1", () => {
  assert.equal(pid("181"), 181);
  assert.equal(pid("2147483647"), 2147483647);
  for (const bad of ["0", "-1", "abc", "1.5", "", "2147483648", " 1", "0x10"]) {
    assert.throws(() => pid(bad), /invalid PID/, bad);
  }
});

Deno.test("a port list is comma-separated ports from 1 to 65535", () => {
  assert.deepEqual(portList("80"), [80]);
  assert.deepEqual(portList("80,81,65535"), [80, 81, 65535]);
  for (const bad of ["0", "65536", "80,", "http", "80;81", "-1", ""]) {
    assert.throws(() => portList(bad), /invalid port/, bad);
  }
  assert.throws(() => portList(Array(MAX_PORTS + 1).fill("1").join(",")), /too many ports/);
});

Deno.test("-4 and -6 become AF_INET and AF_INET6, neither means both", () => {
  assert.equal(familyFilter({ ipv4: true, ipv6: false }), 2);
  assert.equal(familyFilter({ ipv4: false, ipv6: true }), 10);
  assert.equal(familyFilter({ ipv4: false, ipv6: false }), 0);
});

Deno.test("--duration takes positive seconds, --cgroupmap and --mntnsmap a path", () => {
  assert.equal(seconds("60"), 60);
  assert.equal(seconds("1.5"), 1.5);
  for (const bad of ["0", "0.0", "-1", "abc", "", "1e3", " 1", "99999999999"]) {
    assert.throws(() => seconds(bad), /invalid duration/, bad);
  }
  assert.equal(mapPath("/sys/fs/bpf/cgroups"), "/sys/fs/bpf/cgroups");
  assert.throws(() => mapPath(""), /expected the path of a pinned BPF map/);
});
