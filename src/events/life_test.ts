import assert from "node:assert/strict";
import { LifeEventRecordSize } from "../../gen/life.ts";
import { cStruct, type CValue } from "./_c_struct.ts";
import { identityMembers, identityOfTid } from "./_identity_fixture.ts";
import { decodeLifeEvent } from "./life.ts";

/**
 * A struct life_event as C lays it out, with `fields` changed: an IPv4 session
 * whose byte counters include the SYN and both FINs (control 0x7).
 */
function record(fields: Record<string, CValue> = {}): DataView {
  return cStruct("life", "life_event", {
    ts_us: 123456789n,
    span_us: 2500n,
    rx_bytes: 51201n,
    tx_bytes: 204802n,
    pid: 4242,
    lport: 40000,
    rport: 8080,
    family: 2,
    control: 0x7,
    laddr: [127, 0, 0, 1],
    raddr: [10, 1, 2, 3],
    comm: "curl",
    ...identityMembers(4243),
    ...fields,
  });
}

const v6loopback = [...Array(15).fill(0), 1];

Deno.test("an IPv4 session decodes with payload bytes net of SYN and FIN", () => {
  const event = decodeLifeEvent(record());
  assert.deepEqual(event, {
    tsUs: 123456789,
    spanUs: 2500,
    rxBytes: 51200,
    txBytes: 204800,
    rxCounter: 51201,
    txCounter: 204802,
    pid: 4242,
    comm: "curl",
    ip: 4,
    laddr: "127.0.0.1",
    lport: 40000,
    raddr: "10.1.2.3",
    rport: 8080,
    identity: identityOfTid(4243),
  });
});

Deno.test("an IPv6 session without control sequences keeps the counters as bytes", () => {
  const event = decodeLifeEvent(record({
    span_us: 0n,
    rx_bytes: 7n,
    tx_bytes: 9n,
    control: 0,
    lport: 22,
    rport: 50000,
    family: 10,
    laddr: v6loopback,
    raddr: [0xfe, 0x80, ...Array(13).fill(0), 5],
    comm: "sshd",
  }));
  assert.equal(event.ip, 6);
  assert.equal(event.laddr, "::1");
  assert.equal(event.raddr, "fe80::5");
  assert.equal(event.rxBytes, 7);
  assert.equal(event.txBytes, 9);
});

Deno.test("a comm of 15 bytes with no room for more is read to its NUL", () => {
  const event = decodeLifeEvent(record({
    comm: "recordProgramSt",
  }));
  assert.equal(event.comm, "recordProgramSt");
});

Deno.test("a short record or an unknown family is rejected", () => {
  assert.throws(
    () => decodeLifeEvent(new DataView(new ArrayBuffer(LifeEventRecordSize - 1))),
    RangeError,
  );
  const odd = record({
    family: 1,
    laddr: [],
    raddr: [],
    comm: "x",
  });
  assert.throws(() => decodeLifeEvent(odd), /unknown address family/);
});

Deno.test("a session no process owned has no task identity; an ungenerated cookie is null", () => {
  const event = decodeLifeEvent(record({ pid: 0, comm: "-", netns: 4026531840, cookie: 0n }));
  assert.deepEqual(event.identity, {
    uid: null,
    tid: null,
    cgroupId: null,
    netns: 4026531840,
    mntns: null,
    cookie: null,
  });
});
