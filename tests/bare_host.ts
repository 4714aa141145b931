/**
 * `deno task test:bare`: dist/tcptools alone on bare Debian 12 and Debian 11
 * (debootstrap minbase roots with no libbpf, libelf, clang, Deno or Python;
 * Debian 11's glibc 2.31 is older than the 2.33 the build machine's libelf
 * was linked for), mounted read-only and entered with chroot, tracing real
 * loopback traffic that the test drives from outside. Every tool's lines are
 * checked field by field. The root filesystems are cached in
 * /var/cache/tcptools.
 */
import assert from "node:assert/strict";
import { dirname, fromFileUrl, join } from "./paths.ts";
import { closedPort, exchange, until } from "./harness.ts";
import { TOOLS } from "../src/tools/registry.ts";

const root = join(dirname(fromFileUrl(import.meta.url)), "..");
const decoder = new TextDecoder();
const MIRROR = "http://deb.debian.org/debian";

function sh(args: string[]): void {
  const out = new Deno.Command(args[0], { args: args.slice(1) }).outputSync();
  if (!out.success) throw new Error(`${args.join(" ")}: ${decoder.decode(out.stderr)}`);
}

const cacheOf = (release: string) => `/var/cache/tcptools/bare-${release}`;

/** The minbase root filesystem of a Debian release, built once. */
function rootfs(release: string): string {
  const cache = cacheOf(release);
  try {
    Deno.statSync(join(cache, "etc", "debian_version"));
    return cache;
  } catch { /* not built yet */ }
  const partial = `${cache}.partial`;
  try {
    Deno.removeSync(partial, { recursive: true });
  } catch { /* none left over */ }
  sh(["debootstrap", "--variant=minbase", release, partial, MIRROR]);
  Deno.renameSync(partial, cache);
  return cache;
}

/** The glibc version of a root filesystem, from the banner in its libc.so.6. */
function glibcVersion(dir: string): number[] {
  const libc = new TextDecoder("latin1").decode(
    Deno.readFileSync(join(dir, "lib/x86_64-linux-gnu/libc.so.6")),
  );
  const m = libc.match(/GNU C Library [^\n]*? version (\d+)\.(\d+)/);
  if (m === null) throw new Error(`no glibc banner in ${dir}`);
  return [Number(m[1]), Number(m[2])];
}

/** A tracer running inside the read-only chroot. */
class BareTracer {
  #child: Deno.ChildProcess;
  #text = "";
  #done: Promise<void>;

  constructor(rootDir: string, args: string[]) {
    // A private mount namespace: the root bind-mounted read-only, with proc,
    // sys and dev, then chroot. Nothing outside changes.
    const script = 'm=$(mktemp -d) && mount --bind "$R" "$m" && mount -o remount,bind,ro "$m" && ' +
      'mount -t proc proc "$m/proc" && mount --rbind /sys "$m/sys" && mount --rbind /dev "$m/dev" && ' +
      'exec chroot "$m" /usr/local/bin/tcptools "$@"';
    this.#child = new Deno.Command("unshare", {
      args: ["--mount", "sh", "-c", script, "sh", ...args],
      env: { R: rootDir },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = this.#child.stdout;
    this.#done = (async () => {
      for await (const chunk of stdout) this.#text += decoder.decode(chunk);
    })();
  }

  lines(): string[] {
    return this.#text.split("\n");
  }

  async attached(): Promise<void> {
    let exited = false;
    this.#child.status.then(() => exited = true);
    await until("the header", () => /^PID /m.test(this.#text) || exited, 20000);
    if (exited) {
      const { code, stderr } = await this.stop();
      throw new Error(`the tracer exited with ${code} before its header: ${stderr}`);
    }
  }

  async stop(): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      this.#child.kill("SIGINT");
    } catch { /* already exited */ }
    const [status, stderr] = await Promise.all([
      this.#child.status,
      new Response(this.#child.stderr).text(),
      this.#done,
    ]);
    return { code: status.code, stdout: this.#text, stderr };
  }
}

/**
 * Whether the mirror still serves `release` (or its root is cached). Debian
 * moves old releases off the mirror to archive.debian.org some time after
 * their support ends; the test of that release is then shown as ignored,
 * with this reason, rather than failing every run or passing untested.
 */
async function served(release: string): Promise<boolean> {
  try {
    Deno.statSync(join(cacheOf(release), "etc", "debian_version"));
    return true;
  } catch { /* not cached: ask the mirror */ }
  const response = await fetch(`${MIRROR}/dists/${release}/Release`, { method: "HEAD" });
  if (!response.ok) console.log(`${MIRROR} no longer serves ${release}: its test is ignored`);
  return response.ok;
}

const releases = [
  // The build machine's release: always tested.
  { release: "bookworm", glibc: [2, 36], ignore: false },
  // glibc 2.31: older than the 2.33 that the build machine's libelf asks for.
  { release: "bullseye", glibc: [2, 31], ignore: !(await served("bullseye")) },
];
for (const { release, glibc, ignore } of releases) {
  Deno.test({
    name: `dist/tcptools alone on a read-only minimal Debian ${release} ` +
      `(glibc ${glibc.join(".")}) traces with every tool`,
    ignore,
    fn: () => traceOnBareRoot(release, glibc),
  });
}

async function traceOnBareRoot(release: string, glibc: readonly number[]): Promise<void> {
  const dir = rootfs(release);
  assert.deepEqual(glibcVersion(dir), glibc);
  for (const absent of ["usr/bin/python3", "usr/bin/clang", "usr/bin/deno"]) {
    assert.throws(() => Deno.statSync(join(dir, absent)), `${absent} is in the bare root`);
  }
  const libs = [...Deno.readDirSync(join(dir, "usr/lib/x86_64-linux-gnu"))].map((e) => e.name);
  assert.deepEqual(libs.filter((n) => /^lib(bpf|elf)[.-]/.test(n)), []);
  Deno.mkdirSync(join(dir, "usr/local/bin"), { recursive: true });
  Deno.copyFileSync(join(root, "dist", "tcptools"), join(dir, "usr/local/bin/tcptools"));
  const before = [...Deno.readDirSync(join(dir, "tmp"))].length;

  // Every tool; connect with -L, so that its line has the port to check.
  const args = (tool: string) => tool === "connect" ? ["connect", "-L"] : [tool];
  const tracers = TOOLS.map((tool) => new BareTracer(dir, args(tool.name)));
  for (const t of tracers) await t.attached();
  const x = await exchange("127.0.0.1", { up: 8192, down: 3072 });
  const client = x.client.pid;
  const server = x.server.pid;
  const lport = x.clientPorts[0];
  const starts = (t: BareTracer, pid: number) => t.lines().filter((l) => l.startsWith(`${pid} `));
  await until(
    "every tool's line",
    () =>
      TOOLS.every((tool, i) =>
        tool.ends.every((end) =>
          starts(tracers[i], end === "active" ? client : server).length === 1
        )
      ),
  );
  const out: Record<string, Awaited<ReturnType<BareTracer["stop"]>>> = {};
  for (const [i, tool] of TOOLS.entries()) out[tool.name] = await tracers[i].stop();
  for (const [tool, run] of Object.entries(out)) {
    assert.equal(run.code, 0, `${tool}: ${run.stderr}`);
  }
  const fields = (stdout: string, pid: number) =>
    stdout.split("\n").filter((l) => l.startsWith(`${pid} `)).map((l) => l.trim().split(/ +/));
  const [p, s, lp] = [String(x.serverPort), "127.0.0.1", String(lport)];
  assert.deepEqual(fields(out.life.stdout, client).map((f) => f.slice(1, 8)), [
    ["tt-client", s, lp, s, p, "8", "3"],
  ]);
  assert.deepEqual(fields(out.life.stdout, server).map((f) => f.slice(1, 8)), [
    ["tt-server", s, p, s, lp, "3", "8"],
  ]);
  assert.deepEqual(fields(out.accept.stdout, server).map((f) => f.slice(1)), [
    ["tt-server", "4", s, lp, s, p],
  ]);
  assert.deepEqual(fields(out.connect.stdout, client).map((f) => f.slice(1)), [
    ["tt-client", "4", s, lp, s, p],
  ]);
  const [lat] = fields(out.connlat.stdout, client);
  assert.deepEqual(lat.slice(1, 6), ["tt-client", "4", s, s, p]);
  assert.ok(Number(lat[6]) >= 0);

  // The newer flags there too: failures decided in the kernel, and connect -d's
  // cgroup skb program at the cgroup v2 root.
  const failed = new BareTracer(dir, ["connect", "--failed"]);
  const dns = new BareTracer(dir, ["connect", "-d"]);
  for (const t of [failed, dns]) await t.attached();
  const closed = closedPort("127.0.0.1");
  await Deno.connect({ hostname: "127.0.0.1", port: closed }).then((c) => c.close(), () => {});
  const y = await exchange("127.0.0.1", { up: 1, down: 1 });
  await until(
    "the refused and the answered connect",
    () => starts(failed, Deno.pid).length === 1 && starts(dns, y.client.pid).length === 1,
  );
  const [refused, answered] = [await failed.stop(), await dns.stop()];
  assert.equal(refused.code, 0, refused.stderr);
  assert.equal(answered.code, 0, answered.stderr);
  assert.deepEqual(fields(refused.stdout, Deno.pid).map((f) => f.slice(2)), [[
    "4",
    s,
    s,
    String(closed),
  ]]);
  assert.equal(fields(refused.stdout, y.client.pid).length, 0, "an established connect");
  assert.deepEqual(fields(answered.stdout, y.client.pid).map((f) => f.slice(1, 6)), [[
    "tt-client",
    "4",
    s,
    s,
    String(y.serverPort),
  ]]);
  // Read-only root: nothing could be written; and nothing was left in /tmp.
  assert.equal([...Deno.readDirSync(join(dir, "tmp"))].length, before);
}
