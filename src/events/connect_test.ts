import assert from "node:assert/strict";
import { programs } from "../../gen/assets.ts";
import {
  connectCountKeyLayout,
  connectEventLayout,
  decodeConnectCount,
  decodeConnectEvent,
} from "./connect.ts";

Deno.test("the decoders' offsets are those of the structs in the object's BTF", () => {
  assert.deepEqual(connectEventLayout, programs.connect.structs.connect_event);
  assert.deepEqual(connectCountKeyLayout, programs.connect.structs.connect_count_key);
});

function event(family: number, outcome: number): DataView {
  const view = new DataView(new ArrayBuffer(88));
  view.setBigUint64(0, 1_000_000n, true);
  view.setBigUint64(8, 125n, true);
  view.setUint32(16, 4321, true);
  view.setUint32(20, 1000, true);
  view.setUint16(24, 50000, true);
  view.setUint16(26, 443, true);
  view.setUint16(28, family, true);
  view.setUint8(30, outcome);
  view.setUint32(32, outcome === 2 ? 111 : 0, true);
  [10, 0, 0, 1].forEach((b, i) => view.setUint8(40 + i, b));
  [10, 0, 0, 2].forEach((b, i) => view.setUint8(56 + i, b));
  new TextEncoder().encode("curl").forEach((b, i) => view.setUint8(72 + i, b));
  return view;
}

Deno.test("a refused IPv4 connect decodes with its outcome and errno", () => {
  assert.deepEqual(decodeConnectEvent(event(2, 2)), {
    startUs: 1_000_000,
    latencyUs: 125,
    pid: 4321,
    uid: 1000,
    lport: 50000,
    dport: 443,
    ip: 4,
    outcome: "refused",
    error: 111,
    saddr: "10.0.0.1",
    daddr: "10.0.0.2",
    comm: "curl",
  });
});

Deno.test("every outcome value has a name, and unknown ones are rejected", () => {
  const names = [0, 1, 2, 3, 4, 5].map((o) => decodeConnectEvent(event(2, o)).outcome);
  assert.deepEqual(names, [
    "pending",
    "established",
    "refused",
    "timed-out",
    "unreachable",
    "aborted",
  ]);
  assert.throws(() => decodeConnectEvent(event(2, 6)), /unknown outcome/);
  assert.throws(() => decodeConnectEvent(event(1, 1)), /unknown address family/);
  assert.throws(() => decodeConnectEvent(new DataView(new ArrayBuffer(87))), RangeError);
});

Deno.test("a counter entry decodes to its destination and count", () => {
  const key = new DataView(new ArrayBuffer(36));
  key.setUint8(15, 1);
  key.setUint8(31, 1);
  key.setUint16(32, 8080, true);
  key.setUint16(34, 10, true);
  const value = new DataView(new BigUint64Array([70n]).buffer);
  assert.deepEqual(decodeConnectCount(key, value), {
    ip: 6,
    saddr: "::1",
    daddr: "::1",
    dport: 8080,
    count: 70,
  });
});
