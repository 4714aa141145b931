import assert from "node:assert/strict";
import { programs } from "../../gen/assets.ts";
import { acceptEventLayout, decodeAcceptEvent } from "./accept.ts";

Deno.test("the decoder's offsets are those of struct accept_event in the object's BTF", () => {
  assert.deepEqual(acceptEventLayout, programs.accept.structs.accept_event);
});

Deno.test("an accept of an IPv4-mapped peer on a dual-stack listener decodes as IPv6", () => {
  const view = new DataView(new ArrayBuffer(80));
  view.setBigUint64(0, 42n, true);
  view.setUint32(8, 907, true);
  view.setUint32(12, 3, true);
  view.setUint32(16, 128, true);
  view.setUint16(20, 22, true);
  view.setUint16(22, 32324, true);
  view.setUint16(24, 10, true);
  const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 56, 1];
  mapped.forEach((b, i) => view.setUint8(32 + i, b));
  mapped.forEach((b, i) => view.setUint8(48 + i, b));
  new TextEncoder().encode("sshd").forEach((b, i) => view.setUint8(64 + i, b));
  assert.deepEqual(decodeAcceptEvent(view), {
    tsUs: 42,
    pid: 907,
    comm: "sshd",
    ip: 6,
    laddr: "::ffff:192.168.56.1",
    lport: 22,
    raddr: "::ffff:192.168.56.1",
    rport: 32324,
    backlog: 3,
    backlogMax: 128,
  });
  assert.throws(() => decodeAcceptEvent(new DataView(new ArrayBuffer(79))), RangeError);
});
