/**
 * Command mode against a hostile user (issue 18): CMD, run as the sudo
 * user, gets nothing of root's: no helper found through the user's PATH, no
 * odd SUDO_* value taken for root, no descriptor but its stdio, none of
 * root's environment, no way into root's terminal, and nothing left running
 * untraced when tcptools is killed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { compileC, tcptools, until } from "./harness.ts";

const decoder = new TextDecoder();
const NOBODY = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
  l.startsWith("nobody:")
)!
  .split(":");
const AS_NOBODY = { SUDO_UID: NOBODY[2], SUDO_GID: NOBODY[3], SUDO_USER: "nobody" };

/** Runs `tcptools life -- CMD...` with `env` added (or only, if `clearEnv`), stdin null. */
async function life(
  command: string[],
  env: Record<string, string>,
  clearEnv = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, args] = tcptools(["life", "--", ...command]);
  const out = await new Deno.Command(cmd, {
    args,
    env: clearEnv ? { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env } : env,
    clearEnv,
    stdin: "null",
    signal: AbortSignal.timeout(30000),
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** A word for sh -c. */
const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** A temporary directory the unprivileged user can write in. */
function sharedDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "tcptools-safety-" });
  Deno.chmodSync(dir, 0o1777);
  return dir;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("command mode never runs a helper found through the user's PATH", async () => {
  const dir = sharedDir();
  try {
    // What a user would put first in PATH (sudo keeps it without secure_path).
    for (const name of ["setpriv", "sh", "env", "su", "runuser"]) {
      Deno.writeTextFileSync(join(dir, name), `#!/bin/sh\nid -u > ${dir}/ran-${name}\n`, {
        mode: 0o755,
      });
    }
    const out = await life(["/usr/bin/id", "-u"], {
      ...AS_NOBODY,
      PATH: `${dir}:/usr/sbin:/usr/bin:/sbin:/bin`,
    }, true);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.stdout.split("\n").slice(1), [NOBODY[2], ""]);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("ran-")),
      [],
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("command mode refuses odd SUDO_UID and SUDO_GID values in one line, status 1", async () => {
  const dir = sharedDir();
  try {
    const cases: Record<string, string>[] = [
      { SUDO_UID: NOBODY[2], SUDO_GID: "0" },
      { SUDO_UID: NOBODY[2], SUDO_GID: "4294967295" },
      { SUDO_UID: "4294967296", SUDO_GID: NOBODY[3] },
      { SUDO_UID: "00", SUDO_GID: NOBODY[3] },
      { SUDO_UID: "-1", SUDO_GID: NOBODY[3] },
      { SUDO_UID: "+1501", SUDO_GID: NOBODY[3] },
      { SUDO_UID: ` ${NOBODY[2]}`, SUDO_GID: NOBODY[3] },
      { SUDO_UID: NOBODY[2], SUDO_GID: "" },
      { SUDO_UID: NOBODY[2] },
      { SUDO_UID: "4242421", SUDO_GID: "4242421" }, // no such user
    ];
    for (const env of cases) {
      const marker = join(dir, "ran");
      const out = await life(["/bin/sh", "-c", `id -u > ${marker}`], env);
      const what = JSON.stringify(env);
      if (exists(marker)) {
        assert.fail(`${what}: the command ran, as ${Deno.readTextFileSync(marker)}`);
      }
      assert.equal(out.code, 1, `${what}: ${out.stderr}`);
      assert.match(out.stderr, /^tcptools[^\n]*SUDO_[UG]ID[^\n]*\n$/, what);
      assert.equal(out.stdout, "", what);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("command mode takes the user's name and HOME from SUDO_UID, not from SUDO_USER", async () => {
  const out = await life(["/bin/sh", "-c", 'id -u; id -g; echo "$USER:$LOGNAME:$HOME"'], {
    ...AS_NOBODY,
    SUDO_USER: "root",
  });
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(out.stdout.split("\n").slice(1), [
    NOBODY[2],
    NOBODY[3],
    `nobody:nobody:${NOBODY[5]}`,
    "",
  ]);
});

Deno.test("the sudo user's command has no descriptor but 0, 1, 2 and none of root's environment", async () => {
  // ls runs as a child: it lists the shell's descriptors, not its own.
  const out = await life(["/bin/sh", "-c", "ls /proc/$$/fd; echo --; env"], {
    ...AS_NOBODY,
    HOME: "/root",
    TCPTOOLS_ROOT_SECRET: "s3cret",
    LD_LIBRARY_PATH: "/root/lib",
    TERM: "xterm-test",
    LANG: "C.UTF-8",
  });
  assert.equal(out.code, 0, out.stderr);
  const [fds, env] = out.stdout.split("\n").slice(1).join("\n").split("--\n");
  assert.deepEqual(fds.split("\n").filter((l) => l), ["0", "1", "2"]);
  const variables = Object.fromEntries(
    env.split("\n").filter((l) => l.includes("=")).map((
      l,
    ) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  assert.equal(variables.TCPTOOLS_ROOT_SECRET, undefined);
  assert.equal(variables.LD_LIBRARY_PATH, undefined);
  assert.equal(variables.HOME, NOBODY[5]);
  assert.equal(variables.USER, "nobody");
  assert.equal(variables.SHELL, NOBODY[6]);
  assert.equal(variables.TERM, "xterm-test");
  assert.equal(variables.LANG, "C.UTF-8");
  assert.ok(
    !Object.keys(variables).some((name) =>
      name.startsWith("TCPTOOLS_") || name.startsWith("SUDO_")
    ),
  );
});

Deno.test("root's own command (no sudo) also gets no descriptor but 0, 1, 2", async () => {
  const out = await life(["/bin/sh", "-c", "ls /proc/$$/fd"], {});
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(out.stdout.split("\n").slice(1), ["0", "1", "2", ""]);
});

/** The text a process writes, collected as it comes, to wait for. */
class Collected {
  text = "";
  readonly done: Promise<void>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const chunk of stream) this.text += decoder.decode(chunk, { stream: true });
    })();
  }
  async waitFor(what: string, timeoutMs = 20000): Promise<void> {
    try {
      await until(JSON.stringify(what), () => this.text.includes(what), timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}; got ${JSON.stringify(this.text)}`);
    }
  }
}

Deno.test("the sudo user's command can neither inject into nor read root's terminal, and its terminal is relayed", async () => {
  const dir = sharedDir();
  const attacker = compileC("c/tty_attacker.c", "tty_attacker");
  Deno.chmodSync(join(attacker, ".."), 0o755);
  const traced = tcptools([
    "life",
    "--",
    "/bin/sh",
    "-c",
    '"$0" "$1"; echo cmd-ready; read -r x; echo "cmd-got:$x"',
    attacker,
    dir,
  ]).flat().map(quote).join(" ");
  // Root's shell on a terminal: runs tcptools, then (once the command's leftover acts) each
  // line it is given, as a shell would, until "end".
  const shell =
    `${traced}; echo "tcptools-status:$?"; touch ${dir}/go; sleep 0.5; echo outer-ready; ` +
    `while IFS= read -r line && [ "$line" != end ]; do sh -c "$line"; done; echo outer-end`;
  const script = new Deno.Command("script", {
    args: ["--quiet", "--flush", "--command", shell, "/dev/null"],
    env: AS_NOBODY,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = new Collected(script.stdout);
  const errors = new Collected(script.stderr);
  const keyboard = script.stdin.getWriter();
  const type = (text: string) => keyboard.write(new TextEncoder().encode(text));
  try {
    await output.waitFor("cmd-ready");
    await type("hello\n");
    await output.waitFor("cmd-got:hello");
    await output.waitFor("tcptools-status:0");
    await output.waitFor("outer-ready");
    await type("echo typed-by-$((6*7))\n");
    await until("the attacker", () => exists(join(dir, "done")), 20000);
    await type("end\n");
    await output.waitFor("outer-end");
    const read = (name: string) =>
      exists(join(dir, name)) ? Deno.readTextFileSync(join(dir, name)) : "";
    assert.equal(read("stolen"), "", "the command's leftover read root's keystrokes");
    assert.equal(
      exists(join(dir, "PWNED")),
      false,
      `root's shell ran what was injected: ${read("sti")}`,
    );
    assert.doesNotMatch(read("sti"), /injected/);
    assert.match(output.text, /typed-by-42\r\n/, "root's shell got its own input");
  } finally {
    try {
      script.kill("SIGKILL");
    } catch { /* ended */ }
    await keyboard.close().catch(() => {});
    await script.status;
    await output.done;
    await errors.done;
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(join(attacker, ".."), { recursive: true });
  }
});

/** Where the cgroup v2 hierarchy is mounted. */
function cgroup2Root(): string {
  const line = Deno.readTextFileSync("/proc/mounts").split("\n").find((l) =>
    l.split(" ")[2] === "cgroup2"
  );
  return line!.split(" ")[1];
}

/** The command's cgroup directory, from one of its processes. */
function cgroupOf(pid: number): string {
  const path = /^0::(.*)$/m.exec(Deno.readTextFileSync(`/proc/${pid}/cgroup`))![1];
  return `${cgroup2Root()}${path}`;
}

/** Kills what a test left (by pid) and removes a cgroup it left. */
async function cleanUp(pids: number[], cgroup: string | undefined): Promise<void> {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  if (cgroup === undefined || !exists(cgroup)) return;
  try {
    Deno.writeTextFileSync(`${cgroup}/cgroup.kill`, "1");
  } catch { /* gone */ }
  for (let i = 0; i < 100; i++) {
    try {
      Deno.removeSync(cgroup);
      return;
    } catch { /* not empty yet */ }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("a tcptools killed by SIGKILL leaves neither its command running untraced nor its cgroup", async () => {
  const dir = sharedDir();
  const [cmd, args] = tcptools([
    "life",
    "--",
    "/bin/sh",
    "-c",
    'setsid sleep 60 & echo $! > "$0/daemon.pid"; echo $$ > "$0/cmd.pid"; sleep 60',
    dir,
  ]);
  const child = new Deno.Command(cmd, {
    args,
    env: AS_NOBODY,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  })
    .spawn();
  let pids: number[] = [];
  let cgroup: string | undefined;
  try {
    await until(
      "the command",
      () => exists(join(dir, "daemon.pid")) && exists(join(dir, "cmd.pid")),
      20000,
    );
    pids = ["cmd", "daemon"].map((who) => Number(Deno.readTextFileSync(join(dir, `${who}.pid`))));
    await until("pids", () => pids.every((pid) => pid > 0));
    cgroup = cgroupOf(pids[0]);
    assert.match(cgroup, /\/tcptools-\d+$/);
    child.kill("SIGKILL");
    await child.status;
    await child.stderr.cancel();
    const alive = () => pids.filter((pid) => exists(`/proc/${pid}`));
    try {
      await until("the command and its daemon to end", () => alive().length === 0, 5000);
    } catch {
      assert.fail(`still running untraced after tcptools was killed: ${alive().join(", ")}`);
    }
    await until("the cgroup to be removed", () => !exists(cgroup!), 5000);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
    await cleanUp(pids, cgroup);
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a daemon that keeps forking does not keep the command's cgroup from being removed", async () => {
  const dir = sharedDir();
  const [cmd, args] = tcptools([
    "life",
    "--",
    "/bin/sh",
    "-c",
    // A daemon that starts a short-lived child every few milliseconds, for 20 s at most.
    "setsid sh -c 'i=0; while [ $i -lt 4000 ]; do i=$((i+1)); true & sleep 0.005; done' < /dev/null > /dev/null 2>&1 & " +
    'echo $! > "$0/daemon.pid"; cat /proc/self/cgroup > "$0/cgroup"; sleep 0.5',
    dir,
  ]);
  const out = await new Deno.Command(cmd, {
    args,
    env: AS_NOBODY,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(30000),
  }).output();
  const daemon = Number(Deno.readTextFileSync(join(dir, "daemon.pid")));
  const cgroup = `${cgroup2Root()}${
    /^0::(.*)$/m.exec(Deno.readTextFileSync(join(dir, "cgroup")))![1]
  }`;
  try {
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    assert.equal(exists(cgroup), false, `${cgroup} is left`);
    assert.ok(exists(`/proc/${daemon}`), "the daemon still runs");
    assert.doesNotMatch(Deno.readTextFileSync(`/proc/${daemon}/cgroup`), /tcptools-/);
  } finally {
    await cleanUp([daemon], cgroup);
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the command gets every signal at its default, whatever tcptools was started ignoring", async () => {
  // Its own status, read by CMD itself (a shell's mask is full while it forks a child).
  const traced = tcptools(["life", "--", "grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]);
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `trap '' XFSZ PIPE; exec ${traced.flat().map(quote).join(" ")}`],
    stdin: "null",
    signal: AbortSignal.timeout(30000),
  }).output();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  assert.deepEqual(decoder.decode(out.stdout).split("\n").slice(1), [
    "SigBlk:\t0000000000000000",
    "SigIgn:\t0000000000000000",
    "",
  ]);
});

Deno.test("under a real sudo, a sudoers rule for tcptools alone gives the user no root helper from their PATH", async () => {
  const dir = sharedDir();
  try {
    for (const name of ["setpriv", "sh", "env", "id"]) {
      Deno.writeTextFileSync(join(dir, name), `#!/bin/sh\n/usr/bin/id -u > ${dir}/ran-${name}\n`, {
        mode: 0o755,
      });
    }
    // sudoers as many hosts have it (no secure_path: sudo keeps the user's PATH), seen only in
    // a mount namespace of this test's own.
    const sudoers = join(dir, "sudoers");
    const [cmd, args] = tcptools(["life", "--", "/bin/sh", "-c", '/usr/bin/id -u; echo "$HOME"']);
    Deno.writeTextFileSync(
      sudoers,
      `Defaults env_reset\nDefaults !secure_path\nnobody ALL=(root) NOPASSWD: ${cmd}\n`,
      { mode: 0o440 },
    );
    const user = `setpriv --reuid=${NOBODY[2]} --regid=${NOBODY[3]} --clear-groups ` +
      `/usr/bin/env PATH=${dir}:/usr/bin:/bin sudo -n ${[cmd, ...args].map(quote).join(" ")}`;
    const out = await new Deno.Command("unshare", {
      args: ["-m", "/bin/sh", "-c", `mount --bind ${sudoers} /etc/sudoers && ${user}`],
      stdin: "null",
      signal: AbortSignal.timeout(30000),
    }).output();
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    assert.deepEqual(decoder.decode(out.stdout).split("\n").slice(1), [NOBODY[2], NOBODY[5], ""]);
    const ran = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("ran-"));
    assert.deepEqual(
      ran,
      [],
      `ran as ${ran.map((n) => Deno.readTextFileSync(join(dir, n)).trim())}`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("command mode starts its command where memory files may not be executed (vm.memfd_noexec=2)", async () => {
  // The sysctl belongs to the PID namespace: set it in a new one only.
  const [cmd, args] = tcptools(["life", "--", "/usr/bin/id", "-u"]);
  const out = await new Deno.Command("unshare", {
    args: [
      "--pid",
      "--fork",
      "--mount-proc",
      "sh",
      "-c",
      'sysctl -q -w vm.memfd_noexec=2 && exec "$@"',
      "sh",
      cmd,
      ...args,
    ],
    env: AS_NOBODY,
    stdin: "null",
    signal: AbortSignal.timeout(30000),
  }).output();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  assert.deepEqual(decoder.decode(out.stdout).split("\n").slice(1), [NOBODY[2], ""]);
});
