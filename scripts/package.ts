/**
 * Build step 2: packages tcptools as ONE self-contained executable that runs
 * on a host without Deno.
 *
 * Usage: deno run -A scripts/package.ts [--compile] [entry.ts] [output]
 *   --compile  require path 2b below (`deno task compile`)
 *   entry   default <repo>/mod.ts
 *   output  default <repo>/dist/tcptools; intermediates (app.js, launcher)
 *           go next to it.
 *
 * Both packaging paths share every step but the last:
 *
 *   1. `deno bundle` flattens the entry's module graph (local modules, the
 *      generated gen/assets.ts, npm: and jsr: packages) into app.js, a single
 *      ESM file for platform deno. It is checked to import nothing remote.
 *   2a. Default: gcc builds launcher/launcher.c statically and the output is
 *      [launcher][Deno runtime][app.js][48-byte trailer]. The runtime is the
 *      deno binary running this script (Deno.execPath(), symlinks resolved),
 *      or $TCPTOOLS_RUNTIME. At run time the launcher maps the runtime in
 *      place, puts app.js in a memfd and runs `deno run <fixed flags>
 *      /proc/self/fd/N`; see launcher/launcher.c for the flags, the
 *      fallbacks and the trailer layout.
 *   2b. If $DENORT_BIN is set (a denort binary matching this Deno's version,
 *      which `deno compile` otherwise downloads), `deno compile` turns the
 *      same app.js into the output instead. No launcher is involved. It
 *      compiles app.js rather than the entry so that both outputs run
 *      exactly the same JavaScript.
 *
 * Environment: CC (default gcc), TCPTOOLS_RUNTIME, DENORT_BIN.
 */
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const compileOnly = Deno.args.includes("--compile");
const [entryArg, outputArg] = Deno.args.filter((arg) => arg !== "--compile");
const entry = resolve(entryArg ?? join(root, "mod.ts"));
const output = resolve(outputArg ?? join(root, "dist", "tcptools"));
const outDir = dirname(output);
const appJs = join(outDir, "app.js");
const launcherBin = join(outDir, "launcher");
if (output === appJs || output === launcherBin) {
  throw new Error(`output ${output} would be overwritten by an intermediate file`);
}

const PAGE = 4096;
/** Must match launcher/launcher.c. */
const MAGIC = "TCPTOOLS_PAYLOAD";
const TRAILER_SIZE = 4 * 8 + MAGIC.length;

function run(cmd: string, args: string[]): void {
  console.log(`+ ${[cmd, ...args].join(" ")}`);
  const status = new Deno.Command(cmd, { args, stdout: "inherit", stderr: "inherit" }).outputSync();
  if (!status.success) {
    throw new Error(`${basename(cmd)} failed (exit ${status.code})`);
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** Step 1: the app as one ESM file with every dependency inlined. */
function bundle(): void {
  run(Deno.execPath(), [
    "bundle",
    "--platform=deno",
    "--format=esm",
    "--packages=bundle", // inline npm: packages instead of leaving imports
    "-o",
    appJs,
    entry,
  ]);
  // The launcher runs the bundle with --no-remote --no-npm, so a leftover
  // remote import would only fail at run time on the user's machine.
  const text = Deno.readTextFileSync(appJs);
  // Static `from "npm:x"` / `import "npm:x"`, or dynamic `import("npm:x")`.
  const leftover = text.match(
    /(?:\bfrom\s*|\bimport\s*\(?\s*)["'`]((?:npm|jsr|https?):[^"'`]*)/,
  );
  if (leftover) {
    throw new Error(`${appJs} still imports ${leftover[1]}: it must be bundled`);
  }
  // A node: import loads Deno's Node compatibility layer at startup, which
  // doubles the time to attach (~70 ms more, BENCHMARKS.md).
  const node = text.match(/["'](node:[\w/]+)["']/);
  if (node) throw new Error(`${appJs} imports ${node[1]}: keep the tracer free of node: modules`);
}

/** Step 2a: [launcher][runtime][app.js][trailer]. */
function concatenate(): void {
  run(Deno.env.get("CC") ?? "gcc", [
    "-static",
    "-Os",
    "-s",
    "-Wall",
    "-Wextra",
    "-o",
    launcherBin,
    join(root, "launcher", "launcher.c"),
    join(root, "launcher", "userland_exec.c"),
  ]);
  const runtime = Deno.realPathSync(Deno.env.get("TCPTOOLS_RUNTIME") ?? Deno.execPath());
  const head = new Uint8Array(4);
  using rt = Deno.openSync(runtime);
  rt.readSync(head);
  if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) {
    throw new Error(`runtime ${runtime} is not an ELF executable`);
  }

  const launcher = Deno.readFileSync(launcherBin);
  const app = Deno.readFileSync(appJs);
  const runtimeSize = rt.statSync().size;
  // Page-aligned, so the launcher can map the runtime's segments straight
  // from this file (launcher/userland_exec.c).
  const runtimeOffset = Math.ceil(launcher.length / PAGE) * PAGE;
  const appOffset = runtimeOffset + runtimeSize;

  const trailer = new Uint8Array(TRAILER_SIZE);
  const view = new DataView(trailer.buffer);
  view.setBigUint64(0, BigInt(runtimeOffset), true);
  view.setBigUint64(8, BigInt(runtimeSize), true);
  view.setBigUint64(16, BigInt(appOffset), true);
  view.setBigUint64(24, BigInt(app.length), true);
  trailer.set(new TextEncoder().encode(MAGIC), 32);

  // Written beside the output and renamed over it: a running old copy is
  // not disturbed and a failed build leaves no half-written executable.
  const partial = `${output}.partial`;
  {
    using out = Deno.openSync(partial, { write: true, create: true, truncate: true, mode: 0o755 });
    const writeAll = (bytes: Uint8Array) => {
      for (let done = 0; done < bytes.length;) done += out.writeSync(bytes.subarray(done));
    };
    writeAll(launcher);
    writeAll(new Uint8Array(runtimeOffset - launcher.length));
    rt.seekSync(0, Deno.SeekMode.Start);
    const buf = new Uint8Array(1 << 20);
    let copied = 0;
    for (let n; (n = rt.readSync(buf)) !== null;) {
      writeAll(buf.subarray(0, n));
      copied += n;
    }
    if (copied !== runtimeSize) throw new Error(`${runtime} changed while being copied`);
    writeAll(app);
    writeAll(trailer);
  }
  Deno.chmodSync(partial, 0o755);
  Deno.renameSync(partial, output);
  const parts = [`launcher ${launcher.length} B`, `runtime ${mib(runtimeSize)} (${runtime})`];
  console.log(`${parts.join(", ")}, app.js ${app.length} B`);
}

/** Step 2b: the same app.js through `deno compile` and $DENORT_BIN. */
function compile(): void {
  run(Deno.execPath(), [
    "compile",
    "-A",
    "--no-check", // plain JS; `deno task check` type-checks the sources
    "--no-config",
    "--no-lock",
    "-o",
    output,
    appJs,
  ]);
}

/**
 * Evicts the new executable from the page cache. A file just written sits
 * there in large folios, which the kernel maps whole when the runtime's code
 * faults in: measured, that leaves the first runs ~10 MB more resident (peak
 * 86 MB instead of 76 under a flood) until the cache is recycled. After this,
 * runs read the file back as they would on any host that did not just write it.
 */
function evictFromPageCache(path: string): void {
  using file = Deno.openSync(path);
  file.syncSync(); // dirty pages cannot be dropped
  run("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"]);
}

if (compileOnly && !Deno.env.get("DENORT_BIN")) {
  console.error(
    "package: --compile needs DENORT_BIN, the path of a denort binary of Deno " +
      `${Deno.version.deno} (deno compile cannot download one here)`,
  );
  Deno.exit(1);
}
Deno.mkdirSync(outDir, { recursive: true });
bundle();
if (Deno.env.get("DENORT_BIN")) compile();
else concatenate();
evictFromPageCache(output);
console.log(`${output}: ${Deno.statSync(output).size} bytes (${mib(Deno.statSync(output).size)})`);
