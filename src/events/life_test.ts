import assert from "node:assert/strict";
import { LifeEventRecordSize } from "../../gen/life.ts";
import { cStruct } from "./_c_struct.ts";
import { decodeLifeEvent } from "./life.ts";

/** A struct life_event as C lays it out. */
function record(fields: {
  ts: bigint;
  span: bigint;
  rx: bigint;
  tx: bigint;
  pid: number;
  lport: number;
  rport: number;
  family: number;
  control: number;
  laddr: number[];
  raddr: number[];
  comm: string;
}): DataView {
  return cStruct("life", "life_event", {
    ts_us: fields.ts,
    span_us: fields.span,
    rx_bytes: fields.rx,
    tx_bytes: fields.tx,
    pid: fields.pid,
    lport: fields.lport,
    rport: fields.rport,
    family: fields.family,
    control: fields.control,
    laddr: fields.laddr,
    raddr: fields.raddr,
    comm: fields.comm,
  });
}

const v6loopback = [...Array(15).fill(0), 1];

Deno.test("an IPv4 session decodes with payload bytes net of SYN and FIN", () => {
  const event = decodeLifeEvent(record({
    ts: 123456789n,
    span: 2500n,
    rx: 51201n,
    tx: 204802n,
    pid: 4242,
    lport: 40000,
    rport: 8080,
    family: 2,
    control: 0x7,
    laddr: [127, 0, 0, 1],
    raddr: [10, 1, 2, 3],
    comm: "curl",
  }));
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
  });
});

Deno.test("an IPv6 session without control sequences keeps the counters as bytes", () => {
  const event = decodeLifeEvent(record({
    ts: 1n,
    span: 0n,
    rx: 7n,
    tx: 9n,
    pid: 1,
    lport: 22,
    rport: 50000,
    family: 10,
    control: 0,
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
    ts: 1n,
    span: 1n,
    rx: 0n,
    tx: 0n,
    pid: 1,
    lport: 1,
    rport: 1,
    family: 2,
    control: 0,
    laddr: [1, 2, 3, 4],
    raddr: [5, 6, 7, 8],
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
    ts: 1n,
    span: 1n,
    rx: 0n,
    tx: 0n,
    pid: 1,
    lport: 1,
    rport: 1,
    family: 1,
    control: 0,
    laddr: [],
    raddr: [],
    comm: "x",
  });
  assert.throws(() => decodeLifeEvent(odd), /unknown address family/);
});
