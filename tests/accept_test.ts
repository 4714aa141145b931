/**
 * `tcptools accept` end to end: real servers (tests/acceptor.c in each accept
 * style, and nginx with two workers) accept real connections; every line is
 * checked against what the accepting process itself reported.
 */
import assert from "node:assert/strict";
import { join } from "./paths.ts";
import { assertUsageErrors, compileC, Peer, Tracer, until, withoutIdentity } from "./harness.ts";

const decoder = new TextDecoder();

let acceptorBinary: string | undefined;

/** Builds tests/acceptor.c once per run; its file name becomes the COMM "tt-acceptor". */
function acceptorPath(): string {
  return acceptorBinary ??= compileC("acceptor.c", "tt-acceptor");
}

interface Accepted {
  pid: number;
  lport: number;
  rport: number;
}

/** A running tt-acceptor. */
class Acceptor {
  #child: Deno.ChildProcess;
  #text = "";
  #done: Promise<void>;
  port = 0;

  constructor(host: string, style: "accept" | "accept4" | "epoll", workers = 1) {
    const child = new Deno.Command(acceptorPath(), {
      args: [host, style, String(workers)],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#child = child;
    this.#done = (async () => {
      for await (const chunk of child.stdout) this.#text += decoder.decode(chunk);
    })();
  }

  get pid(): number {
    return this.#child.pid;
  }

  async ready(): Promise<this> {
    await until("the acceptor's port", () => this.#text.includes("\n"));
    this.port = JSON.parse(this.#text.split("\n")[0]).port;
    return this;
  }

  accepted(): Accepted[] {
    return this.#text.split("\n").slice(1).filter((l) => l).map((l) => JSON.parse(l));
  }

  async stop(): Promise<void> {
    this.#child.kill("SIGKILL");
    await this.#child.status;
    await this.#done;
  }
}

/** Connects `count` times to host:port from a peer process; returns the client ports. */
async function clients(host: string, port: number, count: number): Promise<number[]> {
  const client = Peer.spawn("connect", { host, port, count });
  return (await client.finished()).map((r) => r.lport as number);
}

/** bcc tcpaccept's line for an accept. */
function line(
  a: {
    pid: number;
    comm?: string;
    ip: number;
    raddr: string;
    rport: number;
    laddr: string;
    lport: number;
  },
): string {
  return `${String(a.pid).padEnd(7)} ${(a.comm ?? "tt-acceptor").slice(0, 12).padEnd(12)} ` +
    `${String(a.ip).padEnd(2)} ${a.raddr.padEnd(16)} ${String(a.rport).padEnd(5)} ` +
    `${a.laddr.padEnd(16)} ${String(a.lport).padEnd(5)}`;
}

function count(lines: string[], wanted: string): number {
  return lines.filter((l) => l === wanted).length;
}

Deno.test("accept reports each IPv4, IPv6 and dual-stack accept once, with the acceptor's PID", async () => {
  const tracer = await Tracer.start(["accept"]);
  const cases = [
    { host: "127.0.0.1", style: "accept4", connectTo: "127.0.0.1", ip: 4, address: "127.0.0.1" },
    { host: "::1", style: "accept", connectTo: "::1", ip: 6, address: "::1" },
    { host: "::", style: "accept4", connectTo: "127.0.0.1", ip: 6, address: "::ffff:127.0.0.1" },
  ] as const;
  const runs = [];
  for (const c of cases) {
    const acceptor = await new Acceptor(c.host, c.style).ready();
    const ports = await clients(c.connectTo, acceptor.port, 3);
    await until("three accepts", () => acceptor.accepted().length === 3);
    runs.push({ c, acceptor, ports });
  }
  const last = runs[runs.length - 1];
  await until(
    "the last accept",
    () => tracer.lines().some((l) => l.includes(` ${last.ports[2]} `)),
  );
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0);
  assert.equal(stderr, "");
  const lines = stdout.trimEnd().split("\n");
  assert.equal(lines[0], "PID     COMM         IP RADDR            RPORT LADDR            LPORT");
  for (const { c, acceptor, ports } of runs) {
    const accepted = acceptor.accepted();
    assert.deepEqual(accepted.map((a) => a.rport).sort(), [...ports].sort());
    for (const a of accepted) {
      const wanted = line({
        pid: acceptor.pid,
        ip: c.ip,
        raddr: c.address,
        rport: a.rport,
        laddr: c.address,
        lport: acceptor.port,
      });
      assert.equal(count(lines, wanted), 1, `${wanted}\n${stdout}`);
    }
    await acceptor.stop();
  }
});

Deno.test("accept attributes each accept of an epoll loop and of two workers to the right process", async () => {
  const tracer = await Tracer.start(["accept", "-4"]);
  const workers = await new Acceptor("127.0.0.1", "epoll", 2).ready();
  const shared = await new Acceptor("127.0.0.1", "accept", 2).ready();
  for (const acceptor of [workers, shared]) {
    await clients("127.0.0.1", acceptor.port, 12);
    await until("twelve accepts", () => acceptor.accepted().length === 12);
  }
  await until("the last accept", () => {
    const last = shared.accepted()[11];
    return tracer.lines().some((l) => l.includes(` ${last.rport} `));
  });
  const lines = (await tracer.stop()).stdout.trimEnd().split("\n");
  for (const acceptor of [workers, shared]) {
    for (const a of acceptor.accepted()) {
      const wanted = line({
        pid: a.pid,
        ip: 4,
        raddr: "127.0.0.1",
        rport: a.rport,
        laddr: "127.0.0.1",
        lport: a.lport,
      });
      assert.equal(count(lines, wanted), 1, wanted);
    }
    await acceptor.stop();
  }
});

Deno.test("accept --backlog -T -t adds the time columns and the listen queue", async () => {
  const tracer = await Tracer.start(["accept", "--backlog", "-T", "-t"]);
  const acceptor = await new Acceptor("::1", "accept4").ready();
  const [port] = await clients("::1", acceptor.port, 1);
  await until("the accept", () => tracer.lines().some((l) => l.includes(` ${port} `)));
  const lines = (await tracer.stop()).stdout.split("\n").slice(0, -1); // keeps trailing padding
  await acceptor.stop();
  assert.equal(
    lines[0],
    "TIME     TIME(s)  PID     COMM         IP RADDR            RPORT LADDR            LPORT QLEN  QMAX ",
  );
  const [found] = lines.filter((l) => l.includes(` ${port} `));
  assert.match(found.slice(0, 18), /^\d\d:\d\d:\d\d \d+\.\d{3} +$/);
  const body = line({
    pid: acceptor.pid,
    ip: 6,
    raddr: "::1",
    rport: port,
    laddr: "::1",
    lport: acceptor.port,
  });
  assert.equal(found.slice(18, 18 + body.length), body);
  // listen(fd, 64) in acceptor.c; the queue was empty once this connection left it.
  assert.equal(found.slice(18 + body.length), ` ${"0".padEnd(5)} ${"64".padEnd(5)}`);
});

Deno.test("accept --json prints one object per accept", async () => {
  const tracer = await Tracer.start(["accept", "--json"], { waitForHeader: false });
  const acceptor = await new Acceptor("127.0.0.1", "accept4").ready();
  await tracer.probeUntilFirstLine(() => clients("127.0.0.1", acceptor.port, 1));
  const [port] = await clients("127.0.0.1", acceptor.port, 1);
  await until("the accept", () => tracer.lines().some((l) => l.includes(`"rport":${port},`)));
  const objects = (await tracer.stop()).stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  await acceptor.stop();
  const [found] = objects.filter((o) => o.rport === port);
  const { time, ...rest } = withoutIdentity(found);
  assert.deepEqual(rest, {
    pid: acceptor.pid,
    comm: "tt-acceptor",
    ip: 4,
    raddr: "127.0.0.1",
    rport: port,
    laddr: "127.0.0.1",
    lport: acceptor.port,
    backlog: 0,
    backlog_max: 64,
    uid: 0,
  });
  assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
});

Deno.test("accept -p, -P, -4 and -6 keep the matching accepts and drop the others", async () => {
  const v4 = await new Acceptor("127.0.0.1", "accept4").ready();
  const v6 = await new Acceptor("::1", "accept4").ready();
  const tracers = {
    pid: await Tracer.start(["accept", "-p", String(v4.pid)]),
    port: await Tracer.start(["accept", "-P", `${v6.port},1`]),
    ipv4: await Tracer.start(["accept", "-4"]),
    ipv6: await Tracer.start(["accept", "-6"]),
  };
  const [p4] = await clients("127.0.0.1", v4.port, 1);
  const [p6] = await clients("::1", v6.port, 1);
  await until("both accepts", () => v4.accepted().length === 1 && v6.accepted().length === 1);
  await until(
    "the accepts are traced",
    () =>
      tracers.ipv6.lines().some((l) => l.includes(` ${p6} `)) &&
      tracers.ipv4.lines().some((l) => l.includes(` ${p4} `)),
  );
  const out = {
    pid: (await tracers.pid.stop()).stdout,
    port: (await tracers.port.stop()).stdout,
    ipv4: (await tracers.ipv4.stop()).stdout,
    ipv6: (await tracers.ipv6.stop()).stdout,
  };
  await v4.stop();
  await v6.stop();
  const l4 = line({
    pid: v4.pid,
    ip: 4,
    raddr: "127.0.0.1",
    rport: p4,
    laddr: "127.0.0.1",
    lport: v4.port,
  });
  const l6 = line({ pid: v6.pid, ip: 6, raddr: "::1", rport: p6, laddr: "::1", lport: v6.port });
  const rows = (text: string) => text.trimEnd().split("\n").slice(1);
  assert.deepEqual(rows(out.pid), [l4]);
  assert.deepEqual(rows(out.port), [l6]);
  assert.equal(count(rows(out.ipv4), l4), 1);
  assert.equal(count(rows(out.ipv4), l6), 0);
  for (const l of rows(out.ipv4)) assert.equal(l.split(/ +/)[2], "4");
  assert.equal(count(rows(out.ipv6), l6), 1);
  assert.equal(count(rows(out.ipv6), l4), 0);
  for (const l of rows(out.ipv6)) assert.equal(l.split(/ +/)[2], "6");
});

Deno.test("accept attributes nginx's accepts to its worker processes, driven by curl", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "tcptools-nginx-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  Deno.writeTextFileSync(
    join(dir, "nginx.conf"),
    `worker_processes 2; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http { access_log off; server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } } }
`,
  );
  const nginx = new Deno.Command("nginx", {
    args: ["-p", dir, "-c", join(dir, "nginx.conf")],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const tracer = await Tracer.start(["accept", "-P", String(port)]);
  try {
    const workers = () =>
      Deno.readTextFileSync(`/proc/${nginx.pid}/task/${nginx.pid}/children`).trim().split(/\s+/)
        .filter((p) => p).map(Number);
    await until("two nginx workers", () => workers().length === 2);
    await until("nginx listening", () => {
      const out = new Deno.Command("curl", { args: ["-s", `http://127.0.0.1:${port}/`] })
        .outputSync();
      return out.success;
    });
    const curlPorts: number[] = [];
    for (let i = 0; i < 8; i++) {
      const out = new Deno.Command("curl", {
        args: ["-s", "-o", "/dev/null", "-w", "%{local_port}", `http://127.0.0.1:${port}/`],
      }).outputSync();
      assert.ok(out.success);
      curlPorts.push(Number(decoder.decode(out.stdout)));
    }
    const pids = workers();
    await until(
      "the last request",
      () => tracer.lines().some((l) => l.includes(` ${curlPorts[7]} `)),
    );
    const lines = (await tracer.stop()).stdout.trimEnd().split("\n").slice(1);
    for (const rport of curlPorts) {
      const found = lines.filter((l) => l.split(/ +/)[4] === String(rport));
      assert.equal(found.length, 1, `curl port ${rport}:\n${lines.join("\n")}`);
      const pid = Number(found[0].split(/ +/)[0]);
      assert.ok(pids.includes(pid), `PID ${pid} is not a worker (${pids})`);
      assert.equal(
        found[0],
        line({
          pid,
          comm: "nginx",
          ip: 4,
          raddr: "127.0.0.1",
          rport,
          laddr: "127.0.0.1",
          lport: port,
        }),
      );
    }
  } finally {
    await tracer.stop();
    nginx.kill("SIGQUIT");
    await nginx.status;
    await nginx.stderr.cancel();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("accept rejects bad input with a one-line error and exit status 2", async () => {
  const cases: [string[], string][] = [
    [["accept", "-p", "abc"], "tcptools accept: error: argument -p/--pid: invalid PID: 'abc'"],
    [
      ["accept", "-P", "70000"],
      "tcptools accept: error: argument -P/--port: invalid port: '70000'",
    ],
    [
      ["accept", "-4", "-6"],
      "tcptools accept: error: argument -6/--ipv6: not allowed with argument -4/--ipv4",
    ],
    [["accept", "--bogus"], "tcptools accept: error: unrecognized arguments: --bogus"],
  ];
  await assertUsageErrors(cases);
});
