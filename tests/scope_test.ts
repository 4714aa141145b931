/**
 * --cgroup, --cgroupmap and --mntnsmap end to end, with two "containers"
 * (tests/container.ts) that each serve and connect to the other: every
 * tracer shows the sessions of one container, with host PIDs, and none of
 * the other's. Also --duration, and the usage errors of the scope flags.
 */
import assert from "node:assert/strict";
import { assertUsageErrors, Peer, runTcptools, Tracer, until } from "./harness.ts";
import {
  type Container,
  ContainerPair,
  hostPidUnder,
  mountNamespaceOf,
  PinnedMaps,
} from "./container.ts";

/** What one container did: its processes' host PIDs, and the connection each made or took. */
interface Side {
  serverPid: number;
  clientPid: number;
  serverPort: number;
  /** The local port of the client's connection to the other container. */
  clientPort: number;
  /** The local port the other container's client had (the server's remote port). */
  acceptedFrom: number;
}

/** Starts a server in each container, then a client in each that connects to the other's. */
async function crossTraffic(
  pair: ContainerPair,
  whileClientsWait: (
    pids: Record<"serverA" | "serverB" | "clientA" | "clientB", number>,
  ) => Promise<void>,
): Promise<{ a: Side; b: Side }> {
  const serve = (c: Container, name: string) =>
    Peer.spawn(
      "serve",
      { host: c.address, count: 1, send: 1, expect: 1, comm: name },
      undefined,
      c.prefix,
    );
  const serverA = serve(pair.a, "tt-a-server");
  const serverB = serve(pair.b, "tt-b-server");
  const portA = (await serverA.report(1)).port as number;
  const portB = (await serverB.report(1)).port as number;
  // The clients wait before connecting, so that the test learns their host PIDs first.
  const connect = (c: Container, to: Container, port: number, name: string) =>
    Peer.spawn(
      "connect",
      { host: to.address, port, count: 1, send: 1, expect: 1, comm: name, "delay-ms": 2000 },
      undefined,
      c.prefix,
    );
  const clientA = connect(pair.a, pair.b, portB, "tt-a-client");
  const clientB = connect(pair.b, pair.a, portA, "tt-b-client");
  const pids = {
    serverA: await hostPidUnder(serverA.pid),
    serverB: await hostPidUnder(serverB.pid),
    clientA: await hostPidUnder(clientA.pid),
    clientB: await hostPidUnder(clientB.pid),
  };
  await whileClientsWait(pids);
  const [reportA] = await clientA.finished();
  const [reportB] = await clientB.finished();
  await serverA.finished();
  await serverB.finished();
  return {
    a: {
      serverPid: pids.serverA,
      clientPid: pids.clientA,
      serverPort: portA,
      clientPort: reportA.lport as number,
      acceptedFrom: reportB.lport as number,
    },
    b: {
      serverPid: pids.serverB,
      clientPid: pids.clientB,
      serverPort: portB,
      clientPort: reportB.lport as number,
      acceptedFrom: reportA.lport as number,
    },
  };
}

/** tcplife -s lines (PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,...) as [PID, LPORT, RPORT]. */
function lifeSessions(stdout: string): number[][] {
  return stdout.split("\n").slice(1).filter((l) => l).map((line) => {
    const f = line.split(",");
    return [Number(f[0]), Number(f[4]), Number(f[6])];
  }).sort();
}

/** Both sessions of container `s`: its server's and its client's. */
function sessionsOf(s: Side, other: Side): number[][] {
  return [
    [s.serverPid, s.serverPort, s.acceptedFrom],
    [s.clientPid, s.clientPort, other.serverPort],
  ].sort();
}

Deno.test("--cgroup, --cgroupmap and --mntnsmap show one container and not the other, with host PIDs", async () => {
  await using pair = await ContainerPair.create();
  await using pinned = await PinnedMaps.create();
  const cgroupsOfA = await pinned.map("tt_cgroups_a", [pair.a.cgroupId]);
  const cgroupsOfB = await pinned.map("tt_cgroups_b", [pair.b.cgroupId]);
  // Filled once A's processes exist: the tracer sees a pinned map's updates at once.
  const mountNamespacesOfA = await pinned.map("tt_mntns_a", []);
  const tracers = await Promise.all([
    Tracer.start(["life", "-s", "--cgroup", pair.a.cgroup.path]),
    Tracer.start(["life", "-s", "--cgroup", pair.aboveA.path]),
    Tracer.start(["life", "-s", "--cgroupmap", cgroupsOfA]),
    Tracer.start(["life", "-s", "--mntnsmap", mountNamespacesOfA]),
    Tracer.start(["connect", "--cgroup", pair.b.cgroup.path]),
    Tracer.start(["accept", "--cgroupmap", cgroupsOfB]),
  ]);
  const [byCgroup, byParentCgroup, byCgroupMap, byMountNamespace, connects, accepts] = tracers;
  let a: Side, b: Side;
  try {
    ({ a, b } = await crossTraffic(pair, async (pids) => {
      // Each process of A has a mount namespace of its own (unshare --mount).
      for (const pid of [pids.serverA, pids.clientA]) {
        await pinned.add(mountNamespacesOfA, mountNamespaceOf(pid));
      }
    }));
    await until(
      "the tracers' lines",
      () =>
        [byCgroup, byParentCgroup, byCgroupMap, byMountNamespace].every((t) =>
          t.lines().length >= 3
        ) &&
        connects.lines().length >= 2 && accepts.lines().length >= 2,
    );
  } finally {
    await Promise.all(tracers.map((t) => t.stop()));
  }
  const done = await Promise.all(tracers.map((t) => t.stop()));
  for (const { code, stderr } of done) {
    assert.equal(code, 0);
    assert.equal(stderr, "");
  }
  const [lifeByCgroup, lifeByParent, lifeByCgroupMap, lifeByMountNamespace, connectB, acceptB] =
    done.map((d) => d.stdout);
  // The host PIDs, not the PIDs inside the containers' PID namespaces (1 for each).
  for (const pid of [a.serverPid, a.clientPid, b.serverPid, b.clientPid]) assert.ok(pid > 1);
  // life --cgroup: the sockets of A (the server's accepted one is its listener's cgroup's).
  assert.deepEqual(lifeSessions(lifeByCgroup), sessionsOf(a, b));
  // ... and of the cgroups below a directory: A's cgroup is in aboveA.
  assert.deepEqual(lifeSessions(lifeByParent), sessionsOf(a, b));
  // --cgroupmap and --mntnsmap ask about the process that owned each socket.
  assert.deepEqual(lifeSessions(lifeByCgroupMap), sessionsOf(a, b));
  assert.deepEqual(lifeSessions(lifeByMountNamespace), sessionsOf(a, b));
  // connect --cgroup B: B's client only; accept --cgroupmap B: B's server only (after
  // connect's banner and the headers).
  const rows = (stdout: string) =>
    stdout.split("\n").filter((l) => l && !/^(Tracing|PID)/.test(l)).map((l) =>
      l.trim().split(/ +/)
    );
  assert.deepEqual(rows(connectB), [[
    String(b.clientPid),
    "tt-b-client",
    "4",
    pair.b.address,
    pair.a.address,
    String(a.serverPort),
  ]]);
  assert.deepEqual(rows(acceptB), [[
    String(b.serverPid),
    "tt-b-server",
    "4",
    pair.a.address,
    String(b.acceptedFrom),
    pair.b.address,
    String(b.serverPort),
  ]]);
});

Deno.test("--duration stops the tracer after that long, with status 0", async () => {
  const started = performance.now();
  const { code, stdout, stderr } = await runTcptools(["accept", "--duration", "1.5"]);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(code, 0, stderr);
  assert.equal(stderr, "");
  assert.equal(stdout.split("\n")[0].split(/ +/)[0], "PID");
  assert.ok(seconds >= 1.5 && seconds < 10, `ran ${seconds} s`);
});

Deno.test("scope flags: a path that is not a cgroup v2 directory, or not a pinned map, is a usage error", async () => {
  await using pinned = await PinnedMaps.create();
  const wrongKey = `${pinned.dir}/tt_wrong_key`;
  const make = new Deno.Command("bpftool", {
    args: [
      "map",
      "create",
      wrongKey,
      "type",
      "hash",
      "key",
      "4",
      "value",
      "8",
      "entries",
      "4",
      "name",
      "tt_wrong_key",
    ],
  }).outputSync();
  assert.ok(make.success);
  // A file of root's elsewhere: the kernel refuses it with "Permission denied".
  const notBpffs = Deno.makeTempFileSync({ prefix: "tcptools-not-a-map-" });
  using _file = { [Symbol.dispose]: () => Deno.removeSync(notBpffs) };
  await assertUsageErrors([
    [
      ["life", "--cgroup", "/tmp"],
      "tcptools life: error: argument --cgroup: /tmp: not a directory of the cgroup v2 hierarchy",
    ],
    [
      ["connect", "--cgroup", "/nonexistent"],
      "tcptools connect: error: argument --cgroup: /nonexistent: ",
    ],
    [
      ["accept", "--cgroupmap", "/nonexistent"],
      "tcptools accept: error: --cgroupmap: open pinned BPF map /nonexistent: No such file or directory",
    ],
    [
      ["connect", "--cgroupmap", notBpffs],
      `tcptools connect: error: --cgroupmap: ${notBpffs} is not a pinned BPF map: it is not on ` +
      "a BPF file system (bpffs, /sys/fs/bpf)",
    ],
    [
      ["life", "--mntnsmap", "/proc/self/exe"],
      "tcptools life: error: --mntnsmap: /proc/self/exe is not a pinned BPF map: it is not on " +
      "a BPF file system (bpffs, /sys/fs/bpf)",
    ],
    [
      ["life", "--mntnsmap", wrongKey],
      `tcptools life: error: --mntnsmap: ${wrongKey} is not a hash map with 8-byte keys`,
    ],
    [
      ["connlat", "--duration", "0"],
      "tcptools connlat: error: argument --duration: invalid duration: '0'",
    ],
    [["life", "--duration", "-- x"], "tcptools life: error: argument --duration: invalid duration"],
  ]);
});
