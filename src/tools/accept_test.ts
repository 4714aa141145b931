import assert from "node:assert/strict";
import { AcceptEventRecordSize } from "../../gen/accept.ts";
import { cStruct } from "../events/_c_struct.ts";
import { identityMembers, identityOfTid } from "../events/_identity_fixture.ts";
import { assertPrints, formatOf } from "./_format_of.ts";
import { accept, type AcceptEvent, decodeAcceptEvent } from "./accept.ts";

const sshd: AcceptEvent = {
  tsUs: 1_000_000,
  pid: 907,
  comm: "sshd",
  ip: 4,
  raddr: "192.168.56.1",
  rport: 32324,
  laddr: "192.168.56.102",
  lport: 22,
  backlog: 0,
  backlogMax: 128,
  identity: identityOfTid(908),
};

Deno.test("accept prints bcc tcpaccept's header and line, LPORT padded last", () => {
  assertPrints(accept, [], sshd, [
    "PID     COMM         IP RADDR            RPORT LADDR            LPORT",
    "907     sshd         4  192.168.56.1     32324 192.168.56.102   22   ",
  ]);
});

Deno.test("-T -t put TIME before TIME(s), and --backlog adds QLEN and QMAX", () => {
  const f = formatOf(accept, ["-T", "-t", "--backlog"]);
  assert.deepEqual(f.header(), [
    "TIME     TIME(s)  PID     COMM         IP RADDR            RPORT LADDR            LPORT QLEN  QMAX ",
  ]);
  const line = f.line(sshd);
  assert.match(line.slice(0, 9), /^\d\d:\d\d:\d\d $/);
  assert.equal(
    line.slice(9),
    "0.000    907     sshd         4  192.168.56.1     32324 192.168.56.102   22    0     128  ",
  );
});

Deno.test("an IPv6 accept overflows the 16-wide address columns as bcc's does", () => {
  const v6 = { ...sshd, ip: 6 as const, raddr: "1234:ab12:2040:5020:2299:0:5:0", laddr: "::1" };
  assert.equal(
    formatOf(accept, []).line(v6),
    "907     sshd         6  1234:ab12:2040:5020:2299:0:5:0 32324 ::1              22   ",
  );
});

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
