/**
 * Command mode end to end (`tcptools <tool> -- CMD [ARGS...]`): a command
 * whose child and double-forked grandchild each connect; exactly their
 * connects are shown, a connect made outside meanwhile is not, the exit
 * status is the command's, tcptools ends when the command ends (a daemon it
 * left still running), as the sudo user, and signals pass to the command.
 */
import assert from "node:assert/strict";
import { Peer, tcptools, Tracer, until } from "./harness.ts";

const decoder = new TextDecoder();
const PEER = new URL("./peer.ts", import.meta.url).pathname;

/**
 * The command: "$1" is a directory to talk with the test through, the rest
 * a peer.ts connect command line. It runs one as its child, one as a
 * double-forked daemon (setsid, its parent exits at once), leaves another
 * daemon sleeping, says it is ready, waits until the test has made its own
 * connect from outside, and exits 5. Its loops are bounded.
 */
const SCRIPT = `
dir=$1; shift
"$@" --comm tt-child > "$dir/child.out" & echo $! > "$dir/child.pid"; wait $!
sh -c 'setsid "$@" --comm tt-daemon > "$0/daemon.out" 2>&1 & echo $! > "$0/daemon.pid"' "$dir" "$@"
i=0; until grep -q lport "$dir/daemon.out" 2>/dev/null; do
  i=$((i+1)); [ $i -gt 600 ] && exit 99; sleep 0.05
done
sh -c 'setsid sleep 60 > /dev/null 2>&1 & echo $! > "$0/sleeper.pid"' "$dir"
touch "$dir/ready"
i=0; until [ -e "$dir/outside-done" ]; do i=$((i+1)); [ $i -gt 600 ] && exit 98; sleep 0.05; done
exit 5
`;

Deno.test("command mode traces exactly the command's process tree and exits with its status", async () => {
  const server = Peer.spawn("serve", {
    host: "127.0.0.1",
    count: 3,
    send: 1,
    expect: 1,
    comm: "tt-server",
  });
  const port = (await server.report(1)).port as number;
  const dir = Deno.makeTempDirSync({ prefix: "tcptools-command-" });
  const connect = [Deno.execPath(), "run", "-A", PEER, "connect", "--host", "127.0.0.1"];
  const peerArgs = [...connect, "--port", String(port), "--count", "1", "--send", "1"];
  const [cmd, args] = tcptools([
    "connect",
    "--json",
    "--",
    "sh",
    "-c",
    SCRIPT,
    "sh",
    dir,
    ...peerArgs,
    "--expect",
    "1",
  ]);
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  const output = child.output();
  let sleeper = 0;
  try {
    await until("the command's daemon", () => exists(`${dir}/ready`), 30000);
    sleeper = Number(Deno.readTextFileSync(`${dir}/sleeper.pid`));
    // Traffic from outside the command while it runs: not shown.
    const outside = Peer.spawn("connect", {
      host: "127.0.0.1",
      port,
      count: 1,
      send: 1,
      expect: 1,
      comm: "tt-outside",
    });
    await outside.finished();
    Deno.writeTextFileSync(`${dir}/outside-done`, "");
    const { code, stdout, stderr } = await output;
    await server.finished();
    assert.equal(decoder.decode(stderr), "");
    assert.equal(code, 5, "the command's exit status");
    // tcptools ended with the command: the daemon it left sleeping still runs,
    // moved out of the command's cgroup, which is gone.
    assert.ok(exists(`/proc/${sleeper}`), "the sleeping daemon is still there");
    assert.doesNotMatch(Deno.readTextFileSync(`/proc/${sleeper}/cgroup`), /tcptools-/);
    const connects = decoder.decode(stdout).split("\n").filter((l) => l).map((l) => JSON.parse(l));
    const expected = ["child", "daemon"].map((who) => ({
      pid: Number(Deno.readTextFileSync(`${dir}/${who}.pid`)),
      comm: `tt-${who}`,
      lport: JSON.parse(Deno.readTextFileSync(`${dir}/${who}.out`)).lport,
      dport: port,
      outcome: "established",
    }));
    assert.deepEqual(
      connects.map(({ pid, comm, lport, dport, outcome }) => ({
        pid,
        comm,
        lport,
        dport,
        outcome,
      })),
      expected,
    );
  } finally {
    if (sleeper) Deno.kill(sleeper, "SIGKILL");
    try {
      child.kill("SIGKILL");
    } catch { /* already ended */ }
    Deno.removeSync(dir, { recursive: true });
  }
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("command mode runs the command as the sudo user, and passes signals to it", async () => {
  const [cmd, args] = tcptools(["life", "--", "sh", "-c", "id -u; id -g; echo $HOME"]);
  const out = await new Deno.Command(cmd, {
    args,
    env: { SUDO_UID: "65534", SUDO_GID: "65534", SUDO_USER: "nobody" },
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  const home =
    Deno.readTextFileSync("/etc/passwd").split("\n").find((l) => l.startsWith("nobody:"))!.split(
      ":",
    )[5];
  assert.deepEqual(decoder.decode(out.stdout).split("\n").slice(1), ["65534", "65534", home, ""]);

  // SIGTERM to tcptools, once the command runs, reaches it; its trap exits 9: tcptools exits 9.
  const started = Deno.makeTempFileSync({ prefix: "tcptools-started-" });
  Deno.removeSync(started);
  const tracer = await Tracer.start([
    "accept",
    "--",
    "sh",
    "-c",
    'trap "exit 9" TERM; touch "$0"; i=0; while [ $i -lt 300 ]; do i=$((i+1)); sleep 0.1; done',
    started,
  ]);
  await until("the command", () => exists(started));
  Deno.removeSync(started);
  const { code, stderr } = await tracer.stop("SIGTERM");
  assert.equal(stderr, "");
  assert.equal(code, 9);
});

Deno.test("command mode gives the command the environment tcptools was started with", async () => {
  // The runtime itself gets an allow-listed environment (launcher.c); the command gets all of it.
  const [cmd, args] = tcptools(["life", "--", "sh", "-c", 'echo "$CI_JOB_ID:$PATH"']);
  const out = await new Deno.Command(cmd, {
    args,
    env: { CI_JOB_ID: "4711", PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    clearEnv: true,
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  assert.deepEqual(decoder.decode(out.stdout).split("\n").slice(1), [
    "4711:/usr/sbin:/usr/bin:/sbin:/bin",
    "",
  ]);
});
