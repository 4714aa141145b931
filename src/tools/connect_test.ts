import assert from "node:assert/strict";
import type { ConnectEvent } from "../events/connect.ts";
import { identityJson, identityOfTid } from "../events/_identity_fixture.ts";
import { assertPrints, formatOf } from "./_format_of.ts";
import { asBccReports, connect, countTable } from "./connect.ts";
import { connlat } from "./connlat.ts";
import { parserOf } from "./tool.ts";

const curl: ConnectEvent = {
  startUs: 2_000_000,
  latencyUs: 1650,
  pid: 1469,
  uid: 1000,
  comm: "curl",
  ip: 4,
  saddr: "10.201.219.236",
  lport: 57266,
  daddr: "54.245.105.25",
  dport: 80,
  outcome: "established",
  error: 0,
  identity: identityOfTid(1470),
};

Deno.test("connect prints bcc's banner, header and line, with the empty DNS column", () => {
  assertPrints(connect, [], curl, [
    "Tracing connect ... Hit Ctrl-C to end",
    "PID     COMM         IP SADDR            DADDR            DPORT ",
    "1469    curl         4  10.201.219.236   54.245.105.25    80     ",
  ]);
});

Deno.test("connect -t -U -L adds the time, UID and LPORT columns", () => {
  const f = formatOf(connect, ["-t", "-U", "-L"]);
  assert.equal(
    f.header()[1],
    "TIME(s)  UID   PID     COMM         IP SADDR            LPORT  DADDR            DPORT ",
  );
  assert.equal(
    f.line(curl),
    "0.000    1000  1469    curl         4  10.201.219.236   57266  54.245.105.25    80     ",
  );
  assert.ok(f.line({ ...curl, startUs: 3_500_000 }).startsWith("1.500    1000  "));
});

Deno.test("an IPv4-mapped connect reads as IPv4 unless -6 keeps it IPv6", () => {
  const mapped = { ...curl, ip: 6 as const, saddr: "::ffff:127.0.0.1", daddr: "::ffff:127.0.0.2" };
  assert.deepEqual(
    [asBccReports(mapped, false).ip, asBccReports(mapped, false).daddr],
    [4, "127.0.0.2"],
  );
  assert.equal(asBccReports(mapped, true), mapped);
  const v6 = { ...curl, ip: 6 as const, saddr: "::1", daddr: "::1" };
  assert.equal(asBccReports(v6, false), v6);
});

Deno.test("the -c table lists IPv4 then IPv6, most connects first", () => {
  assert.deepEqual(
    countTable([
      { ip: 6, saddr: "::1", daddr: "::1", dport: 22, count: 9 },
      { ip: 4, saddr: "192.168.10.50", daddr: "172.217.21.194", dport: 443, count: 3 },
      { ip: 4, saddr: "192.168.10.50", daddr: "172.217.21.194", dport: 80, count: 70 },
    ], false),
    [
      "",
      "LADDR                     RADDR                     RPORT                CONNECTS  ",
      "192.168.10.50             172.217.21.194            80                   70        ",
      "192.168.10.50             172.217.21.194            443                  3         ",
      "::1                       ::1                       22                   9         ",
    ],
  );
});

Deno.test("JSON carries the outcome and the latency, null while pending", () => {
  const f = formatOf(connect, ["--json"]);
  assert.deepEqual(f.header(), []);
  const answered = JSON.parse(f.line(curl));
  assert.equal(answered.outcome, "established");
  assert.equal(answered.latency_ms, 1.65);
  assert.equal(answered.error, null);
  const { uid, tid, cgroup_id, netns, mntns, cookie } = answered;
  assert.deepEqual(
    { uid, tid, cgroup_id, netns, mntns, cookie },
    identityJson(1470),
  );
  const pending = JSON.parse(f.line({ ...curl, outcome: "pending", latencyUs: 0 }));
  assert.equal(pending.latency_ms, null);
});

Deno.test("connlat prints bcc's header and line with LAT rounded half to even", () => {
  assertPrints(connlat, [], curl, [
    "PID     COMM         IP SADDR            DADDR            DPORT LAT(ms)",
    "1469    curl         4  10.201.219.236   54.245.105.25    80    1.65",
  ]);
  assert.ok(formatOf(connlat, []).line({ ...curl, latencyUs: 1125 }).endsWith(" 1.12"));
  assertPrints(connlat, ["-t", "-L"], curl, [
    "TIME(s)  PID     COMM         IP SADDR            LPORT  DADDR            DPORT LAT(ms)",
    "0.000    1469    curl         4  10.201.219.236   57266  54.245.105.25    80    1.65",
  ]);
});

Deno.test("connect_dns (DNS answer records) loads only for connect -d: connlat never decodes them", () => {
  const options = (tool: typeof connect | typeof connlat, argv: string[]) =>
    parserOf(tool).parse<never>(argv);
  assert.ok(connlat.skipLoad!(options(connlat, [])).includes("connect_dns"));
  assert.ok(connlat.skipLoad!(options(connlat, ["--failed"])).includes("connect_dns"));
  for (const argv of [[], ["--json"], ["-c"], ["--failed"]]) {
    assert.ok(connect.skipLoad!(options(connect, argv)).includes("connect_dns"), argv.join(" "));
  }
  assert.ok(!connect.skipLoad!(options(connect, ["-d"])).includes("connect_dns"));
});
