import assert from "node:assert/strict";
import { ConnectEventRecordSize } from "../../gen/connect.ts";
import { cStruct } from "./_c_struct.ts";
import { identityMembers, identityOfTid } from "./_identity_fixture.ts";
import { decodeConnectCount, decodeConnectEvent } from "./connect.ts";

function event(family: number, outcome: number): DataView {
  return cStruct("connect", "connect_event", {
    start_us: 1_000_000,
    latency_us: 125,
    pid: 4321,
    lport: 50000,
    dport: 443,
    family,
    outcome,
    error: outcome === 2 ? 111 : 0,
    saddr: [10, 0, 0, 1],
    daddr: [10, 0, 0, 2],
    comm: "curl",
    ...identityMembers(4322), // its uid is also the event's
  });
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
    identity: identityOfTid(4322),
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
  assert.throws(
    () => decodeConnectEvent(new DataView(new ArrayBuffer(ConnectEventRecordSize - 1))),
    RangeError,
  );
});

Deno.test("a counter entry decodes to its destination and count", () => {
  const loopback = [...Array(15).fill(0), 1];
  const key = cStruct("connect", "connect_count_key", {
    saddr: loopback,
    daddr: loopback,
    dport: 8080,
    family: 10,
  });
  const value = new DataView(new BigUint64Array([70n]).buffer);
  assert.deepEqual(decodeConnectCount(key, value), {
    ip: 6,
    saddr: "::1",
    daddr: "::1",
    dport: 8080,
    count: 70,
  });
});
