/**
 * `deno task test:bare`: dist/tcptools alone on a bare Debian 12 (a
 * debootstrap minbase root with no libbpf, libelf, clang, Deno or Python),
 * mounted read-only and entered with chroot, tracing real loopback traffic
 * that the test drives from outside. Every tool's lines are checked field by
 * field. The root filesystem is cached in /var/cache/tcptools.
 */
import assert from "node:assert/strict";
import { dirname, fromFileUrl, join } from "./paths.ts";
import { exchange, until } from "./harness.ts";

const root = join(dirname(fromFileUrl(import.meta.url)), "..");
const CACHE = "/var/cache/tcptools/bare-bookworm";
const decoder = new TextDecoder();

function sh(args: string[]): void {
  const out = new Deno.Command(args[0], { args: args.slice(1) }).outputSync();
  if (!out.success) throw new Error(`${args.join(" ")}: ${decoder.decode(out.stderr)}`);
}

/** The minbase root filesystem, built once. */
function rootfs(): string {
  try {
    Deno.statSync(join(CACHE, "etc", "debian_version"));
    return CACHE;
  } catch { /* not built yet */ }
  const partial = `${CACHE}.partial`;
  try {
    Deno.removeSync(partial, { recursive: true });
  } catch { /* none left over */ }
  sh(["debootstrap", "--variant=minbase", "bookworm", partial, "http://deb.debian.org/debian"]);
  Deno.renameSync(partial, CACHE);
  return CACHE;
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
    await until("the header", () => /^PID /m.test(this.#text), 20000);
  }

  async stop(): Promise<{ code: number; stdout: string; stderr: string }> {
    this.#child.kill("SIGINT");
    const [status, stderr] = await Promise.all([
      this.#child.status,
      new Response(this.#child.stderr).text(),
      this.#done,
    ]);
    return { code: status.code, stdout: this.#text, stderr };
  }
}

Deno.test("dist/tcptools alone on a read-only minimal Debian traces with all four tools", async () => {
  const dir = rootfs();
  for (const absent of ["usr/bin/python3", "usr/bin/clang", "usr/bin/deno"]) {
    assert.throws(() => Deno.statSync(join(dir, absent)), `${absent} is in the bare root`);
  }
  const libs = [...Deno.readDirSync(join(dir, "usr/lib/x86_64-linux-gnu"))].map((e) => e.name);
  assert.deepEqual(libs.filter((n) => /^lib(bpf|elf)[.-]/.test(n)), []);
  Deno.mkdirSync(join(dir, "usr/local/bin"), { recursive: true });
  Deno.copyFileSync(join(root, "dist", "tcptools"), join(dir, "usr/local/bin/tcptools"));
  const before = [...Deno.readDirSync(join(dir, "tmp"))].length;

  const tracers = {
    life: new BareTracer(dir, ["life"]),
    accept: new BareTracer(dir, ["accept"]),
    connect: new BareTracer(dir, ["connect", "-L"]),
    connlat: new BareTracer(dir, ["connlat"]),
  };
  for (const t of Object.values(tracers)) await t.attached();
  const x = await exchange("127.0.0.1", { up: 8192, down: 3072 });
  const client = x.client.pid;
  const server = x.server.pid;
  const lport = x.clientPorts[0];
  const starts = (t: BareTracer, pid: number) => t.lines().filter((l) => l.startsWith(`${pid} `));
  await until(
    "every tool's line",
    () =>
      starts(tracers.life, client).length === 1 && starts(tracers.life, server).length === 1 &&
      starts(tracers.accept, server).length === 1 && starts(tracers.connect, client).length === 1 &&
      starts(tracers.connlat, client).length === 1,
  );
  const out = {
    life: await tracers.life.stop(),
    accept: await tracers.accept.stop(),
    connect: await tracers.connect.stop(),
    connlat: await tracers.connlat.stop(),
  };
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
  // Read-only root: nothing could be written; and nothing was left in /tmp.
  assert.equal([...Deno.readDirSync(join(dir, "tmp"))].length, before);
});
