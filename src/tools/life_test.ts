import assert from "node:assert/strict";
import type { LifeEvent } from "../events/life.ts";
import { identityJson, identityOfTid } from "../events/_identity_fixture.ts";
import { formatOf } from "./_format_of.ts";
import { life } from "./life.ts";

const v4: LifeEvent = {
  tsUs: 5_000_000,
  spanUs: 230,
  rxBytes: 0,
  txBytes: 0,
  rxCounter: 0,
  txCounter: 1,
  pid: 22597,
  comm: "recordProgramSt",
  ip: 4,
  laddr: "127.0.0.1",
  lport: 46644,
  raddr: "127.0.0.1",
  rport: 28527,
  identity: identityOfTid(22598),
};

const v6: LifeEvent = {
  ...v4,
  tsUs: 5_000_059,
  spanUs: 458690,
  rxCounter: 1500,
  txCounter: 2047,
  pid: 26321,
  comm: "sshd",
  ip: 6,
  laddr: "fe80::8a3:9dff:fed5:6b19",
  lport: 22,
  raddr: "fe80::8a3:9dff:fed5:6b19",
  rport: 22440,
};

const STYLE_FLAGS = { columns: [], wide: ["-w"], csv: ["-s"], json: ["--json"] };

/** The header line (undefined for JSON, which has none) and the lines of these flags. */
function formatter(
  options: { style?: keyof typeof STYLE_FLAGS; time?: boolean; timestamp?: boolean },
  offsetUs = 0,
) {
  const argv = [
    ...STYLE_FLAGS[options.style ?? "columns"],
    ...(options.time ? ["-T"] : []),
    ...(options.timestamp ? ["-t"] : []),
  ];
  const format = formatOf(life, argv, offsetUs);
  return { header: () => format.header()[0] as string | undefined, line: format.line };
}

Deno.test("the default format matches bcc tcplife byte for byte", () => {
  const f = formatter({});
  assert.equal(
    f.header(),
    "PID   COMM       LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS",
  );
  assert.equal(
    f.line(v4),
    "22597 recordProg 127.0.0.1       46644 127.0.0.1       28527     0     0 0.23",
  );
});

Deno.test("the wide format has the IP column and 39-wide addresses", () => {
  const f = formatter({ style: "wide" });
  assert.equal(
    f.header(),
    "PID   COMM             IP LADDR                                   LPORT RADDR" +
      "                                   RPORT  TX_KB  RX_KB MS",
  );
  assert.equal(
    f.line(v6),
    "26321 sshd             6  fe80::8a3:9dff:fed5:6b19                22    " +
      "fe80::8a3:9dff:fed5:6b19                22440      1      1 458.69",
  );
});

Deno.test("-t counts seconds from the first printed session with 6 decimals", () => {
  const f = formatter({ timestamp: true });
  assert.equal(
    f.header(),
    "TIME(s)   PID   COMM       LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS",
  );
  assert.ok(f.line(v4).startsWith("0.000000  22597 recordProg 127.0.0.1 "));
  assert.ok(f.line(v6).startsWith("0.000059  26321 sshd       fe80::"));
});

Deno.test("-T prefixes the local time of printing", () => {
  const f = formatter({ time: true });
  assert.ok(f.header()!.startsWith("TIME     PID   COMM "));
  assert.match(f.line(v4), /^\d\d:\d\d:\d\d 22597 recordProg /);
});

Deno.test("CSV keeps the whole comm and puts TIME before TIME(s)", () => {
  const f = formatter({ style: "csv", time: true, timestamp: true });
  assert.equal(f.header(), "TIME,TIME(s),PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,TX_KB,RX_KB,MS");
  assert.match(
    f.line(v4),
    /^\d\d:\d\d:\d\d,0\.000000,22597,recordProgramSt,4,127\.0\.0\.1,46644,127\.0\.0\.1,28527,0,0,0\.23$/,
  );
  assert.equal(
    formatter({ style: "csv" }).header(),
    "PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,TX_KB,RX_KB,MS",
  );
});

Deno.test("MS rounds exact ties to even, as printf does", () => {
  const f = formatter({ style: "csv" });
  assert.match(f.line({ ...v4, spanUs: 1125 }), /,1\.12$/);
  assert.match(f.line({ ...v4, spanUs: 1135 }), /,1\.14$/);
});

Deno.test("JSON has exact bytes, the span in ms and the event's wall-clock time", () => {
  const unixOffsetUs = Date.UTC(2026, 10, 23, 9, 0, 0) * 1000;
  const f = formatter({ style: "json" }, unixOffsetUs);
  assert.equal(f.header(), undefined);
  // The process and both ends are the event's as they are; the rest is converted.
  const { pid, comm, ip, laddr, lport, raddr, rport } = v6;
  assert.deepEqual(JSON.parse(f.line({ ...v6, rxBytes: 1499, txBytes: 2045 })), {
    time: "2026-11-23T09:00:05.000059Z",
    pid,
    comm,
    ip,
    laddr,
    lport,
    raddr,
    rport,
    tx_bytes: 2045,
    rx_bytes: 1499,
    span_ms: 458.69,
    ...identityJson(22598),
  });
});
