/**
 * The binary on hosts less friendly than a developer's: no HOME and a
 * working directory nobody can write, memory files that may not be executed,
 * no tracefs, no BTF, no privileges. Each run traces real traffic (or fails
 * with its one documented line).
 */
import assert from "node:assert/strict";
import { exchange, tcptools } from "./harness.ts";

const decoder = new TextDecoder();
const binary = Deno.env.get("TCPTOOLS_UNDER_TEST");

/**
 * Runs `tcptools life` through `wrapper` (a command prefix), makes one
 * session once the header is out, and returns what was printed.
 */
async function traceThrough(
  wrapper: string[],
  options: { env?: Record<string, string>; clearEnv?: boolean; cwd?: string } = {},
) {
  const [cmd, args] = tcptools(["life"]);
  const child = new Deno.Command(wrapper[0] ?? cmd, {
    args: wrapper.length ? [...wrapper.slice(1), cmd, ...args] : args,
    env: options.env,
    clearEnv: options.clearEnv,
    cwd: options.cwd,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  const x = await exchange("127.0.0.1", { up: 2048, down: 1024 });
  const wanted = `${x.client.pid} `;
  const deadline = Date.now() + 10000;
  while (!text.split("\n").some((l) => l.startsWith(wanted)) && Date.now() < deadline) {
    const { value, done } = await Promise.race([
      reader.read(),
      new Promise<{ value: undefined; done: true }>((r) =>
        setTimeout(() => r({ value: undefined, done: true }), 200)
      ),
    ]);
    if (value) text += decoder.decode(value);
    if (done && !value) continue;
  }
  // A wrapper that forks (unshare --pid --fork) does not pass signals on:
  // signal the innermost process, the tracer.
  Deno.kill(innermost(child.pid), "SIGINT");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  return { code: status.code, stdout: text, stderr, x };
}

/** The deepest descendant of `pid` (following only children), or `pid` itself. */
function innermost(pid: number): number {
  for (;;) {
    let children: string[];
    try {
      children = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/);
    } catch {
      return pid;
    }
    if (!children[0]) return pid;
    pid = Number(children[0]);
  }
}

function assertTraced(run: Awaited<ReturnType<typeof traceThrough>>) {
  assert.equal(run.code, 0, run.stderr);
  const line = run.stdout.split("\n").find((l) => l.startsWith(`${run.x.client.pid} `));
  assert.ok(line, `the session is missing:\n${run.stdout}\n${run.stderr}`);
  const f = line.split(/ +/);
  assert.deepEqual(f.slice(0, 8), [
    String(run.x.client.pid),
    "tt-client",
    "127.0.0.1",
    String(run.x.clientPorts[0]),
    "127.0.0.1",
    String(run.x.serverPort),
    "2",
    "1",
  ]);
}

Deno.test("life traces with an empty environment from a directory nobody can write", async () => {
  // No HOME, no PATH; /proc refuses new files even to root.
  const env: Record<string, string> = {};
  if (!binary) env.DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
  assertTraced(await traceThrough([], { clearEnv: true, env, cwd: "/proc" }));
});

Deno.test("life traces where memory files may not be executed (vm.memfd_noexec=2)", async () => {
  // The sysctl belongs to the PID namespace: set it in a new one only.
  assertTraced(
    await traceThrough([
      "unshare",
      "--pid",
      "--fork",
      "--mount-proc",
      "sh",
      "-c",
      'sysctl -q -w vm.memfd_noexec=2 && [ "$(sysctl -n vm.memfd_noexec)" = 2 ] && exec "$@"',
      "sh",
    ]),
  );
});

Deno.test("life traces without tracefs mounted", async () => {
  // A private mount namespace where neither tracefs nor debugfs is mounted.
  assertTraced(
    await traceThrough([
      "unshare",
      "--mount",
      "sh",
      "-c",
      "for m in /sys/kernel/tracing /sys/kernel/debug/tracing /sys/kernel/debug; do " +
      'umount -l "$m" 2>/dev/null; done; ! grep -qE "tracefs|debugfs" /proc/self/mounts && exec "$@"',
      "sh",
    ]),
  );
});

Deno.test("life without tracefs mounted nor CAP_SYS_ADMIN says to mount it, exit status 1", async () => {
  // Root with CAP_BPF and CAP_PERFMON, but no CAP_SYS_ADMIN for a private tracefs mount.
  const [cmd, args] = tcptools(["life"]);
  const out = await new Deno.Command("unshare", {
    args: [
      "--mount",
      "sh",
      "-c",
      "for m in /sys/kernel/tracing /sys/kernel/debug/tracing /sys/kernel/debug; do " +
      'umount -l "$m" 2>/dev/null; done; exec setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "$@"',
      "sh",
      cmd,
      ...args,
    ],
  }).output();
  assert.equal(out.code, 1);
  assert.equal(decoder.decode(out.stdout), "");
  assert.equal(
    decoder.decode(out.stderr),
    "tcptools life: mount a private tracefs to find syscalls/sys_exit_accept4: Operation not permitted: " +
      "without CAP_SYS_ADMIN, tracefs must be mounted: mount -t tracefs nodev /sys/kernel/tracing\n",
  );
});

Deno.test({
  name:
    "life as an unprivileged user names the privileges it needs, exit status 1 (built binary only)",
  // From source, Deno itself cannot start as another user (root's module cache is private).
  ignore: !binary,
  fn: async () => {
    const [cmd, args] = tcptools(["life"]);
    const out = await new Deno.Command("setpriv", {
      args: ["--reuid=65534", "--regid=65534", "--clear-groups", cmd, ...args],
      cwd: "/",
    }).output();
    assert.equal(out.code, 1);
    assert.equal(decoder.decode(out.stdout), "");
    assert.equal(
      decoder.decode(out.stderr),
      "tcptools life: needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN) to load BPF programs: " +
        "run it with sudo\n",
    );
  },
});
