/**
 * The identity fields of every tool's --json end to end: a server and a
 * client in a cgroup, network namespace and mount namespace of the test's
 * own, the client as another user; each field is checked against what
 * /proc and the cgroup file system say about the peer processes, and the
 * socket cookie joins connect and life (client socket) and accept and life
 * (server socket).
 */
import assert from "node:assert/strict";
import { linesOf, Peer, Tracer, until } from "./harness.ts";
import { ChildCgroup } from "./child_cgroup.ts";
import { NetworkNamespace } from "./netns.ts";

const NOBODY = 65534;

/** The inode numbers of a process's network and mount namespaces. */
function namespaces(pid: number): { netns: number; mntns: number } {
  return {
    netns: Deno.statSync(`/proc/${pid}/ns/net`).ino!,
    mntns: Deno.statSync(`/proc/${pid}/ns/mnt`).ino!,
  };
}

/** A JSON tracer, attached once it printed a line about a probe connection of its own. */
async function jsonTracer(tool: string): Promise<Tracer> {
  const tracer = await Tracer.start([tool, "--json"], { waitForHeader: false });
  await tracer.probeUntilFirstLine(async () => {
    const server = Peer.spawn("serve", { host: "127.0.0.1", count: 1 });
    const port = (await server.report(1)).port as number;
    await Peer.spawn("connect", { host: "127.0.0.1", port }).finished();
    await server.finished();
  });
  return tracer;
}

Deno.test("every tool's --json names the task's uid, tid, cgroup and mount namespace, the socket's network namespace, and one cookie per socket", async () => {
  await using ns = await NetworkNamespace.create();
  using cgroup = ChildCgroup.create();
  const cgroupId = Deno.statSync(cgroup.path).ino!;
  // Into the cgroup first: ip netns exec mounts a /sys of the namespace's own,
  // without the cgroup2 file system. Then a mount namespace of each peer's own
  // (ip netns exec and unshare exec in place: same PID).
  const prefix = [...cgroup.prefix, ...ns.prefix, "unshare", "--mount"];
  const tracers = {
    connect: await jsonTracer("connect"),
    accept: await jsonTracer("accept"),
    life: await jsonTracer("life"),
  };

  const server = Peer.spawn(
    "serve",
    { host: "127.0.0.1", port: 5100, count: 1, send: 1, expect: 1, comm: "tt-server" },
    undefined,
    prefix,
  );
  await server.report(1);
  const client = Peer.spawn(
    "connect",
    { host: "127.0.0.1", port: 5100, send: 1, expect: 1, comm: "tt-client", "delay-ms": 1000 },
    NOBODY,
    prefix,
  );
  // Read while both processes run (the client waits before connecting), once
  // the client runs as itself: ip netns exec has a mount namespace of its own
  // too, which unshare then leaves for the client's.
  await until("the client in its namespaces", () => {
    try {
      return Deno.readTextFileSync(`/proc/${client.pid}/comm`).trim() === "tt-client";
    } catch {
      return false;
    }
  });
  const serverNs = namespaces(server.pid);
  const clientNs = namespaces(client.pid);
  assert.equal(serverNs.netns, clientNs.netns);
  assert.notEqual(serverNs.netns, namespaces(Deno.pid).netns);
  assert.notEqual(serverNs.mntns, clientNs.mntns, "a mount namespace each");
  assert.equal(
    Deno.readTextFileSync(`/proc/${client.pid}/cgroup`).trim().split("/").pop(),
    cgroup.path.split("/").pop(),
  );
  const [{ lport }] = await client.finished();
  await server.finished();

  for (const tracer of Object.values(tracers)) {
    await until("the connection", () => {
      const out = tracer.lines().join("\n");
      return linesOf(out, client.pid).length + linesOf(out, server.pid).length > 0;
    });
  }
  const out: Record<string, string> = {};
  for (const [tool, tracer] of Object.entries(tracers)) {
    const { code, stdout, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    out[tool] = stdout;
  }
  const one = (tool: string, pid: number) => {
    const lines = linesOf(out[tool], pid);
    assert.equal(lines.length, 1, `${tool}:\n${out[tool]}`);
    return JSON.parse(lines[0]);
  };
  const connect = one("connect", client.pid);
  const accept = one("accept", server.pid);
  const lifeClient = one("life", client.pid);
  const lifeServer = one("life", server.pid);
  assert.equal(connect.lport, lport);
  assert.equal(lifeClient.lport, lport);
  assert.equal(accept.rport, lport);

  // Deno makes its socket calls on the main thread: the thread id is the PID.
  const expected = (pid: number, uid: number, namespaces: { netns: number; mntns: number }) => ({
    uid,
    tid: pid,
    cgroup_id: cgroupId,
    netns: namespaces.netns,
    mntns: namespaces.mntns,
  });
  const identity = (o: Record<string, unknown>) => {
    const { uid, tid, cgroup_id, netns, mntns } = o;
    return { uid, tid, cgroup_id, netns, mntns };
  };
  assert.deepEqual(identity(connect), expected(client.pid, NOBODY, clientNs));
  assert.deepEqual(identity(lifeClient), expected(client.pid, NOBODY, clientNs));
  assert.deepEqual(identity(accept), expected(server.pid, 0, serverNs));
  assert.deepEqual(identity(lifeServer), expected(server.pid, 0, serverNs));

  for (const o of [connect, accept, lifeClient, lifeServer]) {
    assert.ok(Number.isSafeInteger(o.cookie) && o.cookie > 0, JSON.stringify(o));
  }
  assert.equal(connect.cookie, lifeClient.cookie, "one cookie for the client's socket");
  assert.equal(accept.cookie, lifeServer.cookie, "one cookie for the server's socket");
  assert.notEqual(connect.cookie, accept.cookie, "two sockets");
});
