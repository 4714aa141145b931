import assert from "node:assert/strict";
import { AcceptEventRecordSize } from "../../gen/accept.ts";
import { cStruct } from "./_c_struct.ts";
import { identityMembers, identityOfTid } from "./_identity_fixture.ts";
import { decodeAcceptEvent } from "./accept.ts";

Deno.test("an accept of an IPv4-mapped peer on a dual-stack listener decodes as IPv6", () => {
  const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 56, 1];
  const view = cStruct("accept", "accept_event", {
    ts_us: 42,
    pid: 907,
    backlog: 3,
    backlog_max: 128,
    lport: 22,
    rport: 32324,
    family: 10,
    laddr: mapped,
    raddr: mapped,
    comm: "sshd",
    ...identityMembers(908),
  });
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
    identity: identityOfTid(908),
  });
  assert.throws(
    () => decodeAcceptEvent(new DataView(new ArrayBuffer(AcceptEventRecordSize - 1))),
    RangeError,
  );
});
