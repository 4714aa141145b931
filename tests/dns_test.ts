/**
 * `tcptools connect -d` end to end: clients resolve names through a DNS
 * server the test runs in its own network namespace (the namespace's
 * resolver), then connect; each QUERY is checked against the test's own
 * answers, A and AAAA.
 */
import assert from "node:assert/strict";
import { assertUsageErrors, linesOf, Peer, Tracer, until } from "./harness.ts";
import { NetworkNamespace } from "./netns.ts";
import { dirname, fromFileUrl, join } from "./paths.ts";

const DNS_SERVER = join(dirname(fromFileUrl(import.meta.url)), "dns_server.ts");

/**
 * tests/dns_server.ts answering `names`, started after `prefix` (a network
 * namespace's, and a user's), its output collected; stopped when disposed.
 */
class DnsServer {
  #chunks: string[] = [];
  #reading: Promise<void>;

  private constructor(readonly child: Deno.ChildProcess) {
    this.#reading = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        this.#chunks.push(chunk);
      }
    })();
  }

  static async start(
    prefix: string[],
    names: Record<string, string[]>,
    extra: string[] = [],
  ): Promise<DnsServer> {
    const [cmd, ...args] = [
      ...prefix,
      Deno.execPath(),
      "run",
      "-A",
      DNS_SERVER,
      "--names",
      JSON.stringify(names),
      ...extra,
    ];
    const server = new DnsServer(
      new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "inherit" }).spawn(),
    );
    await until("the DNS server", () => server.output().includes('{"port":53}'));
    return server;
  }

  output(): string {
    return this.#chunks.join("");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.child.kill();
    await this.child.status;
    await this.#reading;
  }
}

/** bcc's -d line: PID COMM IP SADDR DADDR DPORT QUERY, the address the host's own. */
function line(pid: number, ip: number, address: string, dport: number, query: string): string {
  return `${String(pid).padEnd(7)} ${"tt-client".padEnd(12)} ${String(ip).padEnd(2)} ` +
    `${address.padEnd(16)} ${address.padEnd(16)} ${String(dport).padEnd(6)} ${query}`;
}

Deno.test("connect -d names each destination by the DNS answer that gave it, A and AAAA", async () => {
  await using ns = await NetworkNamespace.create();
  for (const address of ["10.9.9.4/32", "10.9.9.5/32", "fd00::4/128"]) {
    await ns.run(["ip", "addr", "add", address, "dev", "lo", "nodad"]);
  }
  ns.useResolver("127.0.0.1");
  const names = { "www.tt.test": ["10.9.9.4"], "six.tt.test": ["fd00::4"] };
  await using dns = await DnsServer.start(ns.prefix, names);
  const tracer = await Tracer.start(["connect", "-d"]);
  const serve = (host: string, port: number, count: number) =>
    Peer.spawn("serve", { host, port, count, send: 1, expect: 1 }, undefined, ns.prefix);
  const v4 = serve("0.0.0.0", 7000, 2);
  const v6 = serve("::", 7001, 1);
  await Promise.all([v4.report(1), v6.report(1)]);
  const connect = (host: string, port: number) =>
    Peer.spawn(
      "connect",
      { host, port, send: 1, expect: 1, comm: "tt-client" },
      undefined,
      ns.prefix,
    );
  const lookup = performance.now();
  const byName = connect("www.tt.test", 7000);
  await byName.finished();
  const byName6 = connect("six.tt.test", 7001);
  await byName6.finished();
  // By address, later: the answer still names it, with its age.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const later = connect("10.9.9.4", 7000);
  await later.finished();
  const sinceLookup = performance.now() - lookup;
  const unnamed = connect("10.9.9.5", 7002); // refused, and no answer named it
  await unnamed.finished();
  const local = connect("127.0.0.1", 7002);
  await local.finished();
  await Promise.all([v4.finished(), v6.finished()]);
  await until("the last connect", () => linesOf(tracer.lines().join("\n"), local.pid).length > 0);
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0, stderr);

  // The clients asked the test's server (glibc asks A and AAAA).
  for (const name of ["www.tt.test", "six.tt.test"]) {
    assert.ok(dns.output().includes(`{"name":"${name}","type":1}`), name);
    assert.ok(dns.output().includes(`{"name":"${name}","type":28}`), name);
  }
  const lines = stdout.split("\n");
  assert.equal(lines[0], "Tracing connect ... Hit Ctrl-C to end");
  assert.equal(
    lines[1],
    "PID     COMM         IP SADDR            DADDR            DPORT  QUERY",
  );
  assert.deepEqual(linesOf(stdout, byName.pid), [
    line(byName.pid, 4, "10.9.9.4", 7000, "www.tt.test"),
  ]);
  assert.deepEqual(linesOf(stdout, byName6.pid), [
    line(byName6.pid, 6, "fd00::4", 7001, "six.tt.test"),
  ]);
  const [aged] = linesOf(stdout, later.pid);
  const prefix = line(later.pid, 4, "10.9.9.4", 7000, "www.tt.test (");
  assert.ok(aged.startsWith(prefix), aged);
  const ms = aged.slice(prefix.length).match(/^(\d+\.\d{3})ms\)$/);
  assert.ok(ms, aged);
  // From the answer to this connect(): more than the pause, less than all since the lookup.
  assert.ok(Number(ms[1]) >= 300, aged);
  assert.ok(Number(ms[1]) < sinceLookup, `${aged}: ${sinceLookup} ms since the lookup`);
  assert.deepEqual(linesOf(stdout, unnamed.pid), [
    line(unnamed.pid, 4, "10.9.9.5", 7002, "No DNS Query"),
  ]);
  assert.deepEqual(linesOf(stdout, local.pid), [
    line(local.pid, 4, "127.0.0.1", 7002, "localhost"),
  ]);
});

/**
 * Asks the resolver at 127.0.0.1 for the root name's A record, then connects
 * to Deno.args[0]:Deno.args[1] (a refusal is fine). glibc cannot be made to
 * ask for the root name.
 */
const ROOT_CLIENT = `
import dgram from "node:dgram";
Deno.writeTextFileSync("/proc/self/comm", "tt-client");
const query = new Uint8Array([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
const udp = dgram.createSocket("udp4");
await new Promise((answered) => {
  udp.on("message", answered);
  udp.send(query, 53, "127.0.0.1");
});
udp.close();
await Deno.connect({ hostname: Deno.args[0], port: Number(Deno.args[1]) }).then((c) => c.close(), () => {});
`;

Deno.test('connect -d names a destination the root name\'s answer gave as "."', async () => {
  await using ns = await NetworkNamespace.create();
  await ns.run(["ip", "addr", "add", "10.9.9.6/32", "dev", "lo", "nodad"]);
  await using dns = await DnsServer.start(ns.prefix, { "": ["10.9.9.6"] });
  const tracer = await Tracer.start(["connect", "-d"]);
  const [cmd, ...args] = [...ns.prefix, Deno.execPath(), "eval", ROOT_CLIENT, "10.9.9.6", "7002"];
  const client = new Deno.Command(cmd, { args, stdin: "null" }).spawn();
  assert.equal((await client.status).code, 0);
  await until("the connect", () => linesOf(tracer.lines().join("\n"), client.pid).length > 0);
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0, stderr);
  assert.ok(dns.output().includes('{"name":"","type":1}'), dns.output());
  assert.deepEqual(linesOf(stdout, client.pid), [line(client.pid, 4, "10.9.9.6", 7002, ".")]);
});

Deno.test("connect -d is refused with -c and --json", async () => {
  await assertUsageErrors([
    [
      ["connect", "-c", "-d"],
      "tcptools connect: error: argument -d/--dns: not allowed with argument -c/--count",
    ],
    [
      ["connect", "--json", "--dns"],
      "tcptools connect: error: argument -d/--dns: not allowed with argument --json",
    ],
  ]);
});

const NOBODY = 65534;

/**
 * What an unprivileged local user can do without any privilege: in a user
 * and network namespace of its own, run a DNS server on port 53 that sends
 * answers for `www.bank.example` (127.0.0.1 and ::1) to a socket that asked
 * nothing, then ask it that name through glibc (getent), which takes its
 * answer. "$1" is a directory for the outputs, "$2" Deno, "$3" the server.
 */
const FORGER = `
dir=$1
ip link set lo up || exit 90
echo "nameserver 127.0.0.1" > "$dir/resolv.conf" && mount --bind "$dir/resolv.conf" /etc/resolv.conf || exit 91
DENO_DIR=/proc/no-cache "$2" run -A "$3" --names '{"www.bank.example":["127.0.0.1","::1"]}' \\
  --unsolicited > "$dir/server.out" &
i=0; until grep -q port "$dir/server.out" 2>/dev/null; do i=$((i+1)); [ $i -gt 600 ] && exit 92; sleep 0.05; done
getent ahosts www.bank.example > "$dir/getent.out" || exit 93
kill $!
`;

Deno.test("connect -d: a local user's own DNS server and forged answers name none of root's connects", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "tcptools-dns-forger-" });
  Deno.chmodSync(dir, 0o777);
  const tracer = await Tracer.start(["connect", "-d"]);
  const servers = ["127.0.0.1", "::1"].map((host) =>
    Peer.spawn("serve", { host, count: 1, send: 1, expect: 1 })
  );
  try {
    const forger = new Deno.Command("setpriv", {
      args: [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        "unshare",
        "-rnm",
        "sh",
        "-c",
        FORGER,
        "sh",
        dir,
        Deno.execPath(),
        DNS_SERVER,
      ],
      stdin: "null",
    }).outputSync();
    assert.equal(forger.code, 0, new TextDecoder().decode(forger.stderr));
    // The forgery happened: 2 answers nobody asked for arrived, and glibc took the server's.
    assert.ok(Deno.readTextFileSync(`${dir}/server.out`).includes('{"unsolicited":2}'));
    const getent = Deno.readTextFileSync(`${dir}/getent.out`);
    assert.match(getent, /^::1 +STREAM www\.bank\.example$/m);
    assert.match(getent, /^127\.0\.0\.1 +STREAM/m);

    const clients = await Promise.all(servers.map(async (server, i) => {
      const port = (await server.report(1)).port as number;
      const host = i === 0 ? "127.0.0.1" : "::1";
      const client = Peer.spawn("connect", { host, port, send: 1, expect: 1, comm: "tt-client" });
      await client.finished();
      await server.finished();
      return { client, host, port };
    }));
    const last = clients[1].client.pid;
    await until("root's connects", () => linesOf(tracer.lines().join("\n"), last).length > 0);
    const { code, stdout, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    for (const { client, host, port } of clients) {
      assert.deepEqual(linesOf(stdout, client.pid), [
        line(client.pid, host === "::1" ? 6 : 4, host, port, "localhost"),
      ]);
    }
  } finally {
    await tracer.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("connect -d: an answer names only what the socket asked, for connects of that socket's user", async () => {
  await using ns = await NetworkNamespace.create();
  await ns.run(["ip", "addr", "add", "10.9.9.4/32", "dev", "lo"]);
  ns.useResolver("127.0.0.1");
  await using _dns = await DnsServer.start(ns.prefix, { "www.tt.test": ["10.9.9.4"] });
  const tracer = await Tracer.start(["connect", "-d"]);
  const server = Peer.spawn(
    "serve",
    { host: "0.0.0.0", port: 7000, count: 3, send: 1, expect: 1 },
    undefined,
    ns.prefix,
  );
  await server.report(1);
  const connect = (host: string, uid?: number) =>
    Peer.spawn(
      "connect",
      { host, port: 7000, send: 1, expect: 1, comm: "tt-client" },
      uid,
      ns.prefix,
    );
  // nobody looks the name up and connects; then nobody and root connect by address.
  const byName = connect("www.tt.test", NOBODY);
  await byName.finished();
  const byAddress = connect("10.9.9.4", NOBODY);
  await byAddress.finished();
  // Then answers from port 53 to a root socket that sent no query: they name nothing.
  await using forger = await DnsServer.start(ns.prefix, { "forged.tt.test": ["10.9.9.4"] }, [
    "--host",
    "127.0.0.2",
    "--unsolicited",
  ]);
  assert.ok(forger.output().includes('{"unsolicited":2}'));
  const root = connect("10.9.9.4");
  await root.finished();
  await server.finished();
  await until("root's connect", () => linesOf(tracer.lines().join("\n"), root.pid).length > 0);
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0, stderr);
  assert.deepEqual(linesOf(stdout, byName.pid), [
    line(byName.pid, 4, "10.9.9.4", 7000, "www.tt.test"),
  ]);
  // Later, by address: the same name, with its age when over 100 ms.
  const [later] = linesOf(stdout, byAddress.pid);
  const named = line(byAddress.pid, 4, "10.9.9.4", 7000, "www.tt.test");
  assert.ok(
    later === named ||
      later.startsWith(named) && /^ \(\d+\.\d{3}ms\)$/.test(later.slice(named.length)),
    later,
  );
  assert.deepEqual(linesOf(stdout, root.pid), [
    line(root.pid, 4, "10.9.9.4", 7000, "No DNS Query"),
  ]);
});
