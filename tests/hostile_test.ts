/**
 * The binary on hosts less friendly than a developer's: no HOME and a
 * working directory nobody can write, memory files that may not be executed
 * or not created at all, no tracefs, no BTF, no privileges, low limits, a
 * full disk; and run as root with a hostile user's environment and TMPDIR,
 * and stopped at any moment. Each run traces real traffic (or fails with its
 * one documented line).
 */
import assert from "node:assert/strict";
import { libraries } from "../gen/assets.ts";
import {
  assertUnloaded,
  assertUsageErrors,
  bpfObjects,
  exchange,
  runTcptools,
  tcptools,
  Tracer,
  until,
} from "./harness.ts";
import { dirname, fromFileUrl, join } from "./paths.ts";
import { TextStream } from "./text_stream.ts";

const decoder = new TextDecoder();
const binary = Deno.env.get("TCPTOOLS_UNDER_TEST");
const root = join(dirname(fromFileUrl(import.meta.url)), "..");

/**
 * Runs `tcptools life` through `wrapper` (a command prefix), makes one
 * session once the header is out, and returns what was printed. A start that
 * hangs shows as no header after 20 s (and the tracer is killed).
 */
async function traceThrough(
  wrapper: string[],
  options: {
    env?: Record<string, string>;
    clearEnv?: boolean;
    cwd?: string;
    /** Called with the PID as soon as the process exists. */
    started?: (pid: number) => void;
  } = {},
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
  options.started?.(child.pid);
  const out = new TextStream(child.stdout);
  const text = await out.until((t) => t.includes("\n"), 20000);
  if (!text.includes("\n")) {
    try {
      child.kill("SIGKILL");
    } catch { /* it ended by itself */ }
    const { code, signal } = await child.status;
    const stderr = await new Response(child.stderr).text();
    throw new Error(`no header (status ${code}, signal ${signal}): ${text}${stderr}`);
  }
  const x = await exchange("127.0.0.1", { up: 2048, down: 1024 });
  const wanted = `${x.client.pid} `;
  await out.until((t) => t.split("\n").some((l) => l.startsWith(wanted)), 10000);
  // A wrapper that forks (unshare --pid --fork) does not pass signals on:
  // signal the innermost process, the tracer.
  Deno.kill(innermost(child.pid), "SIGINT");
  const stdout = await out.until(() => false, 60000);
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  return { code: status.code, stdout, stderr, x };
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

/** A user who owns files here, and nothing else (nobody). */
const USER = 65534;
/** Why a test that needs the launcher of the single-file build is ignored from source. */
const LAUNCHER_ONLY = "(built binary only: from source, `deno run` starts without the launcher)";

/** A directory of root's (0700), removed with what it holds at the end of the block (`using`). */
function tempDir(what: string): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix: `tcptools-${what}-` });
  return { path, [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }) };
}

/** Builds tests/c/<name>.c with gcc into `dir`; returns the program's path. */
function compileC(name: string, dir: string): string {
  const source = join(dirname(fromFileUrl(import.meta.url)), "c", `${name}.c`);
  const program = join(dir, name);
  const out = new Deno.Command("gcc", { args: ["-O2", "-Wall", "-o", program, source] })
    .outputSync();
  if (!out.success) throw new Error(`gcc ${name}.c: ${decoder.decode(out.stderr)}`);
  return program;
}

/** A file in `dir` (root's) that only root can read, holding "secret", for attacks to aim at. */
function victimFile(dir: string, name = "victim"): string {
  const path = join(dir, name);
  Deno.writeTextFileSync(path, "secret", { mode: 0o600 });
  return path;
}

function assertUntouched(path: string) {
  const text = Deno.readTextFileSync(path);
  assert.ok(text === "secret", `${path} was written: ${JSON.stringify(text.slice(0, 16))}…`);
  assert.equal(Deno.statSync(path).mode! & 0o777, 0o600, `${path} was chmodded`);
}

Deno.test("life without memfd_create loads its libraries from files nobody can reach, whatever TMPDIR holds", async () => {
  // The attacker owns TMPDIR and replaces any directory made there by one
  // of links to a file of root's (tests/c/swap_dir.c).
  using root = tempDir("root");
  using attackers = tempDir("tmpdir");
  const noMemfd = compileC("no_memfd", root.path);
  const swapDir = compileC("swap_dir", root.path);
  const tmpdir = attackers.path;
  Deno.chownSync(tmpdir, USER, USER);
  Deno.chmodSync(tmpdir, 0o755);
  const victim = victimFile(root.path);
  const attacker = new Deno.Command(swapDir, {
    args: [tmpdir, victim, ...Object.keys(libraries)],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const attackerOut = new TextStream(attacker.stdout);
  const said = await attackerOut.until((t) => t.includes("watching\n"), 5000);
  assert.equal(said, "watching\n");
  const writer = attacker.stdin.getWriter();
  try {
    const run = await traceThrough([noMemfd], {
      env: { TMPDIR: tmpdir },
      started: (pid) => void writer.write(new TextEncoder().encode(`${pid}\n`)),
    }).catch((error: Error) => error);
    assertUntouched(victim); // first: a tracer that wrote it may have failed to start
    if (run instanceof Error) throw run;
    assertTraced(run);
    assert.equal(run.stderr, "");
    assert.deepEqual([...Deno.readDirSync(tmpdir)], [], "something was made in TMPDIR");
  } finally {
    attacker.kill();
    await attacker.status;
    await writer.close().catch(() => {});
    await attackerOut.cancel();
  }
});

Deno.test({
  name: `the runtime ignores Deno's variables in the environment ${LAUNCHER_ONLY}`,
  ignore: !binary,
  fn: async () => {
    // As under sudo -E: files written through links, a directory created,
    // telemetry sent to a collector, each by one variable.
    using root = tempDir("root");
    using links = tempDir("env");
    const dir = links.path;
    const v8Victim = victimFile(root.path, "v8");
    const auditVictim = victimFile(root.path, "audit");
    Deno.symlinkSync(v8Victim, join(dir, "v8.log"));
    Deno.symlinkSync(auditVictim, join(dir, "audit.jsonl"));
    const collector = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    let connected = false;
    const accepting = collector.accept().then((c) => {
      connected = true;
      c.close();
    }).catch(() => {});
    try {
      const run = await traceThrough([], {
        env: {
          DENO_V8_FLAGS: `--log,--no-logfile-per-isolate,--logfile=${dir}/v8.log`,
          DENO_AUDIT_PERMISSIONS: `${dir}/audit.jsonl`,
          DENO_COVERAGE_DIR: `${dir}/coverage`,
          OTEL_DENO: "true",
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.addr as Deno.NetAddr).port}`,
          OTEL_METRIC_EXPORT_INTERVAL: "100",
        },
      });
      assertTraced(run);
      assert.equal(run.stderr, "");
      assertUntouched(v8Victim);
      assertUntouched(auditVictim);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
        "audit.jsonl",
        "v8.log",
      ]);
      assert.equal(connected, false, "the runtime connected to the OTLP collector");
    } finally {
      collector.close();
      await accepting;
    }
  },
});

Deno.test({
  name: `the runtime reads nothing from $HOME (.npmrc a FIFO, or not UTF-8) ${LAUNCHER_ONLY}`,
  ignore: !binary,
  fn: async () => {
    // Opening a FIFO blocks until a writer comes: a start that opens it hangs
    // (a link to /dev/zero, the same open, would grow without bound instead).
    for (
      const make of [
        (path: string) => new Deno.Command("mkfifo", { args: [path] }).outputSync(),
        (path: string) => Deno.writeFileSync(path, new Uint8Array([0xff, 0xfe, 0x3d, 0x80, 0x0a])),
      ]
    ) {
      using home = tempDir("home");
      make(join(home.path, ".npmrc"));
      const run = await traceThrough([], { env: { HOME: home.path } });
      assertTraced(run);
      assert.equal(run.stderr, "");
    }
  },
});

Deno.test({
  name: `a TZ that names a file is not passed on (a FIFO would hang the start) ${LAUNCHER_ONLY}`,
  ignore: !binary,
  fn: async () => {
    using dir = tempDir("tz");
    const fifo = join(dir.path, "zone");
    new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
    for (const tz of [fifo, `:${fifo}`]) {
      const run = await traceThrough([], { env: { TZ: tz } });
      assertTraced(run);
      assert.equal(run.stderr, "");
    }
  },
});

Deno.test({
  name:
    `a stop signal at any moment of start-up ends with status 0 and nothing loaded ${LAUNCHER_ONLY}`,
  ignore: !binary,
  fn: async () => {
    const before = bpfObjects();
    const [cmd, args] = tcptools(["life"]);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      // From the launcher's first steps to the header (70-90 ms here, more under load).
      for (const ms of [2, 10, 20, 35, 50, 65, 80, 100, 150, 250]) {
        const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
        await new Promise((resolve) => setTimeout(resolve, ms));
        child.kill(signal);
        const out = await child.output();
        const stderr = decoder.decode(out.stderr);
        assert.equal(out.code, 0, `${signal} after ${ms} ms: status ${out.code} ${stderr}`);
        assert.equal(stderr, "", `${signal} after ${ms} ms`);
      }
    }
    await assertUnloaded(before);
  },
});

/** The thread other than the main one that waits in epoll_wait or epoll_pwait: the ring buffer's. */
function waitingWorker(pid: number): number | undefined {
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    const tid = Number(task.name);
    const call = Deno.readTextFileSync(`/proc/${pid}/task/${tid}/syscall`).split(" ")[0];
    if (tid !== pid && (call === "232" || call === "281")) return tid;
  }
}

/** Sends signal `signal` (a number) to one thread, as a debugger or a library might. */
function threadKill(pid: number, tid: number, signal: number): void {
  const lib = Deno.dlopen("libc.so.6", {
    tgkill: { parameters: ["i32", "i32", "i32"], result: "i32" },
  });
  try {
    assert.equal(lib.symbols.tgkill(pid, tid, signal), 0);
  } finally {
    lib.close();
  }
}

Deno.test("life stops cleanly on SIGINT sent to the thread that waits for the ring buffer", async () => {
  // Three times: the old failure raced with the stop the same signal asks for.
  for (let i = 0; i < 3; i++) {
    const tracer = await Tracer.start(["life"]);
    let tid: number | undefined;
    await until("a thread waiting in epoll", () => (tid = waitingWorker(tracer.pid)) !== undefined);
    threadKill(tracer.pid, tid!, 2); // SIGINT
    // SIGCONT changes nothing here: stop() only waits for the exit. A tracer
    // that ignored the SIGINT is killed after 5 s (status 137).
    const timeout = setTimeout(() => tracer.signal("SIGKILL"), 5000);
    const { code, stdout, stderr } = await tracer.stop("SIGCONT");
    clearTimeout(timeout);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
    assert.match(stdout, /^PID +COMM/);
  }
});

Deno.test("life keeps tracing after being stopped and continued (Ctrl-Z, fg)", async () => {
  const tracer = await Tracer.start(["life"]);
  for (let i = 0; i < 5; i++) {
    await until("a thread waiting in epoll", () => waitingWorker(tracer.pid) !== undefined);
    // A stopped and continued epoll_wait fails with EINTR, without any handler.
    tracer.signal("SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, 50));
    tracer.signal("SIGCONT");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const x = await exchange("127.0.0.1", { up: 2048, down: 1024 });
  await until(
    "the session",
    () => tracer.lines().some((l) => l.startsWith(`${x.client.pid} `)),
    5000,
  ).catch(() => {});
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0, stderr);
  assert.equal(stderr, "");
  assert.ok(stdout.split("\n").some((l) => l.startsWith(`${x.client.pid} `)), stdout);
});

Deno.test("a name that every object has is an unknown command, not a crash", async () => {
  await assertUsageErrors(
    ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"].map((name) => [
      [name],
      `tcptools: error: unknown command '${name}'`,
    ]),
  );
});

Deno.test({
  name: `life starts under low soft limits on open files and address space ${LAUNCHER_ONLY}`,
  ignore: !binary,
  fn: async () => {
    // Below 34 open files Deno panics or libbpf fails; below ~35 GiB V8 aborts.
    assertTraced(
      await traceThrough(["prlimit", "--nofile=16:4096", `--as=${8 * 2 ** 30}:unlimited`]),
    );
  },
});

Deno.test({
  name: `hard limits too low to start are one line, exit status 1 ${LAUNCHER_ONLY}`,
  ignore: !binary,
  fn: async () => {
    const [cmd, args] = tcptools(["life"]);
    for (
      const [limit, line] of [
        [
          "--nofile=16:16",
          "tcptools: the hard limit on open files is 16 (ulimit -Hn): it needs at least 64\n",
        ],
        [
          `--as=${8 * 2 ** 30}:${8 * 2 ** 30}`,
          "tcptools: the hard address space limit is 8388608 KiB (ulimit -Hv): it needs at least " +
          "41943040 KiB (the runtime reserves 32 GiB it does not use)\n",
        ],
      ]
    ) {
      const out = await new Deno.Command("prlimit", { args: [limit, cmd, ...args] }).output();
      assert.equal(decoder.decode(out.stderr), line);
      assert.equal(out.code, 1);
      assert.equal(decoder.decode(out.stdout), "");
    }
  },
});

Deno.test("a full stdout is one line naming the write, exit status 1", async () => {
  for (const [args, prefix] of [[["life"], "tcptools life"], [["--help"], "tcptools"]] as const) {
    const [cmd, argv] = tcptools([...args]);
    const out = await new Deno.Command("sh", {
      args: ["-c", 'exec "$@" >/dev/full', "sh", cmd, ...argv],
    }).output();
    assert.equal(
      decoder.decode(out.stderr),
      `${prefix}: write to stdout: No space left on device\n`,
    );
    assert.equal(out.code, 1);
  }
});

Deno.test({
  name:
    `a file size limit (ulimit -f) too low for the start-up copies is one line, exit status 1 ${LAUNCHER_ONLY}`,
  ignore: !binary,
  fn: async () => {
    // The app (the largest file written at start) goes into a memory file, which counts.
    const appKiB = Math.ceil(Deno.statSync(join(root, "dist", "app.js")).size / 1024);
    const [cmd, args] = tcptools(["life"]);
    const out = await new Deno.Command("prlimit", {
      args: [`--fsize=${1000 * 1024}:${1000 * 1024}`, cmd, ...args],
    }).output();
    assert.equal(
      decoder.decode(out.stderr),
      `tcptools: cannot copy the embedded app into memory: the file size limit is 1000 KiB ` +
        `(ulimit -f): it needs at least ${appKiB} KiB\n`,
    );
    assert.equal(out.code, 1);
    assert.equal(decoder.decode(out.stdout), "");
  },
});

Deno.test("a stdout file that reaches the file size limit (ulimit -f) is one line naming the write, exit status 1", async () => {
  using files = tempDir("fsize");
  const limit = 4 << 20;
  const path = join(files.path, "out");
  // Room for less than the header: the first write is cut short, the next one refused.
  Deno.writeFileSync(path, new Uint8Array(limit - 20));
  const [cmd, argv] = tcptools(["life"]);
  const out = await new Deno.Command("prlimit", {
    args: [`--fsize=${limit}:${limit}`, "sh", "-c", 'exec "$@" >>"$0"', path, cmd, ...argv],
    stdin: "null",
  }).output();
  assert.equal(decoder.decode(out.stderr), "tcptools life: write to stdout: File too large\n");
  assert.equal(out.code, 1);
  assert.equal(Deno.statSync(path).size, limit);
});

Deno.test("a TCPTOOLS_BTF that is empty, not BTF, a directory or a FIFO is one line, exit status 1", async () => {
  using files = tempDir("btf");
  const dir = files.path;
  Deno.writeFileSync(join(dir, "empty"), new Uint8Array());
  Deno.writeTextFileSync(join(dir, "text"), "not BTF\n");
  new Deno.Command("mkfifo", { args: [join(dir, "fifo")] }).outputSync();
  for (
    const [name, why] of [
      ["empty", "empty"],
      ["text", "no BTF or ELF header"],
      ["fifo", "not a regular file"],
      [".", "not a regular file"],
    ]
  ) {
    const path = join(dir, name);
    const run = await runTcptools(["life"], { TCPTOOLS_BTF: path }, 20000);
    assert.equal(
      run.stderr,
      `tcptools life: ${path} is not a BTF file (${why}): set TCPTOOLS_BTF to this kernel's BTF\n`,
    );
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
  }
});

/** A new memory cgroup (v2, or v1's controller) limited to `bytes`; returns its directory. */
function memoryCgroup(bytes: number): string {
  const v2 = "/sys/fs/cgroup";
  const onV2 = (() => {
    try {
      return Deno.readTextFileSync(`${v2}/cgroup.controllers`).split(/\s+/).includes("memory");
    } catch {
      return false;
    }
  })();
  const dir = `${onV2 ? v2 : `${v2}/memory`}/tcptools-test-${Deno.pid}`;
  Deno.mkdirSync(dir);
  Deno.writeTextFileSync(`${dir}/${onV2 ? "memory.max" : "memory.limit_in_bytes"}`, String(bytes));
  return dir;
}

Deno.test("a memory limit too low for the ring buffer is reported as one, exit status 1", async () => {
  // BPF maps are charged to the memory cgroup (Linux 5.11+): 256 MiB of ring
  // buffer cannot fit in 160 MiB, which the runtime itself fits in.
  const cgroup = memoryCgroup(160 * 2 ** 20);
  try {
    const [cmd, args] = tcptools(["life", "--ring-kb", "262144"]);
    const out = await new Deno.Command("sh", {
      args: ["-c", `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, "sh", cmd, ...args],
    }).output();
    assert.equal(
      decoder.decode(out.stderr),
      "tcptools life: load BPF object life: Cannot allocate memory: not enough memory for the " +
        "BPF maps and programs: raise the memory limit (the cgroup's memory.max or " +
        "memory.limit_in_bytes; ulimit -l before Linux 5.11) or lower --ring-kb\n",
    );
    assert.equal(out.code, 1);
  } finally {
    Deno.removeSync(cgroup);
  }
});
