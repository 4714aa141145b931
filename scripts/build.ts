/**
 * Build step 1: compiles every bpf/*.bpf.c into a CO-RE object and writes
 * gen/assets.ts, the one module that carries all embedded bytes: the BPF
 * objects (with the layout of their .rodata globals, read from their BTF)
 * and the libbpf, libelf and zlib shared libraries
 * of this build machine, made to load on glibc 2.28+ (glibc_compat.ts).
 * `deno run`, `deno bundle` and `deno compile` all see the same assets
 * through it. For each object it also writes gen/<tool>.ts, the types and
 * decoders of its structs and its typed globals (btf_codegen.ts), and
 * gen/manuals.ts, the manuals `tcptools help <tool>` prints (docs/*.md).
 *
 * Usage: deno run -A scripts/build.ts
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type BtfType,
  generate,
  namesModule,
  objectNames,
  pascal,
  type Slot,
} from "./btf_codegen.ts";
import { checkOldestGlibc, patchLibelf, SHIM_SONAME } from "./glibc_compat.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bpfDir = join(root, "bpf");
const genDir = join(root, "gen");

/** The shared libraries embedded, in load order (each needs the ones before). */
const LIBRARIES = ["libz.so.1", SHIM_SONAME, "libelf.so.1", "libbpf.so.1"];

function run(cmd: string, args: string[]): string {
  const out = new Deno.Command(cmd, { args, stderr: "inherit" }).outputSync();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code})`);
  }
  return new TextDecoder().decode(out.stdout);
}

function compile(source: string, object: string): void {
  run("clang", [
    "-g", // BTF is generated from debug info; DWARF is stripped below
    "-O2",
    "-target",
    "bpf",
    "-D__TARGET_ARCH_x86",
    "-I/usr/include/x86_64-linux-gnu",
    "-Wall",
    "-Werror",
    "-c",
    source,
    "-o",
    object,
  ]);
  run("llvm-strip", ["-g", object]); // drops DWARF, keeps .BTF and .BTF.ext
}

/**
 * Generates gen/<tool>.ts (event types and decoders, typed globals) from the
 * object's BTF and returns the `.rodata` layout for the loader. The BTF is
 * read from a linked copy: clang leaves the offsets of `.rodata` variables
 * at 0 for the linker (libbpf's, here through `bpftool gen object`) to fill.
 */
function generateTypes(tool: string, object: string): Record<string, Slot> {
  const linked = join(genDir, `${tool}.linked.o`);
  run("bpftool", ["gen", "object", linked, object]);
  const { types } = JSON.parse(run("bpftool", ["-j", "btf", "dump", "file", linked])) as {
    types: BtfType[];
  };
  Deno.removeSync(linked);
  const { module, rodata } = generate(tool, types);
  Deno.writeTextFileSync(join(genDir, `${tool}.ts`), module);
  return rodata;
}

function libraryPath(soname: string): string {
  for (const line of run("ldconfig", ["-p"]).split("\n")) {
    const m = line.match(/^\s*(\S+) \(libc6,x86-64\) => (\S+)$/);
    if (m && m[1] === soname) return Deno.realPathSync(m[2]);
  }
  throw new Error(`${soname} not found: install libbpf1, libelf1 and zlib1g`);
}

Deno.mkdirSync(genDir, { recursive: true });
const programs: string[] = [];
const tools: string[] = [];
for (const entry of [...Deno.readDirSync(bpfDir)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.name.endsWith(".bpf.c")) continue;
  const tool = basename(entry.name, ".bpf.c");
  tools.push(tool);
  const object = join(genDir, `${tool}.bpf.o`);
  compile(join(bpfDir, entry.name), object);
  const bytes = Deno.readFileSync(object);
  programs.push(
    `  ${tool}: {\n` +
      `    object: ${JSON.stringify(bytes.toBase64())},\n` +
      `    rodata: ${JSON.stringify(generateTypes(tool, object))},\n` +
      `  },`,
  );
}

/**
 * Writes gen/names.ts, the names of every object's programs and maps as
 * types (btf_codegen.ts), read from each object's own BTF.
 */
function writeObjectNames(tools: string[]): void {
  const names = Object.fromEntries(tools.map((tool) => {
    const object = join(genDir, `${tool}.bpf.o`);
    const { types } = JSON.parse(run("bpftool", ["-j", "btf", "dump", "file", object])) as {
      types: BtfType[];
    };
    return [tool, objectNames(types)];
  }));
  Deno.writeTextFileSync(join(genDir, "names.ts"), namesModule(names));
}
writeObjectNames(tools);

/** The fstat shim libelf is redirected to (scripts/glibc_compat/fstat.c). */
function buildShim(): Uint8Array {
  const output = join(genDir, SHIM_SONAME);
  run(Deno.env.get("CC") ?? "gcc", [
    "-shared",
    "-fPIC",
    "-O2",
    "-Wall",
    "-Wextra",
    `-Wl,-soname,${SHIM_SONAME}`,
    "-Wl,--no-as-needed", // it needs libz.so.1 for libelf, not for itself
    "-o",
    output,
    join(root, "scripts", "glibc_compat", "fstat.c"),
    "-l:libz.so.1",
  ]);
  return Deno.readFileSync(output);
}

function libraryBytes(soname: string): Uint8Array {
  if (soname === SHIM_SONAME) return buildShim();
  const bytes = Deno.readFileSync(libraryPath(soname));
  const library = soname === "libelf.so.1" ? patchLibelf(bytes) : bytes;
  checkOldestGlibc(soname, library);
  return library;
}

/**
 * The command mode's launcher (src/trace/command_exec.c), static so that it
 * runs on any host tcptools runs on and never loads a library as root.
 */
function buildCommandExec(): Uint8Array {
  const output = join(genDir, "command_exec");
  run(Deno.env.get("CC") ?? "gcc", [
    "-static",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-o",
    output,
    join(root, "src", "trace", "command_exec.c"),
  ]);
  run("strip", [output]);
  return Deno.readFileSync(output);
}

/**
 * Writes gen/manuals.ts: each docs/<tool>.md as a string, so that the manual
 * travels in the binary (an air-gapped host has no browser). The files are
 * found by glob: a new tool's manual needs no edit here, and the test
 * tests/help_test.ts holds every tool in the registry to having one.
 */
function writeManuals(): number {
  const docs = join(root, "docs");
  const names = [...Deno.readDirSync(docs)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => basename(entry.name, ".md"))
    .sort();
  const entries = names.map((name) =>
    `  [${JSON.stringify(name)}, ${
      JSON.stringify(Deno.readTextFileSync(join(docs, `${name}.md`)))
    }],`
  );
  Deno.writeTextFileSync(
    join(genDir, "manuals.ts"),
    `// Generated by scripts/build.ts from docs/*.md; do not edit.\n\n` +
      `/** Each tool's manual, docs/<tool>.md, by tool name. */\n` +
      `export const manuals: ReadonlyMap<string, string> = new Map([\n${entries.join("\n")}\n]);\n`,
  );
  return names.length;
}

const libraries = LIBRARIES.map((soname) =>
  `  ${JSON.stringify(soname)}: ${JSON.stringify(libraryBytes(soname).toBase64())},`
);

Deno.writeTextFileSync(
  join(genDir, "assets.ts"),
  `// Generated by scripts/build.ts; do not edit.\n` +
    tools.map((tool) => `import type { ${pascal(tool)}Globals } from "./${tool}.ts";\n`).join("") +
    `\n/** BPF objects (base64) with the layout of their .rodata globals. */\n` +
    `export const programs = {\n${programs.join("\n")}\n} as const;\n\n` +
    `/** The typed \`.rodata\` globals of each object (gen/<tool>.ts). */\n` +
    `export interface ProgramGlobals {\n` +
    tools.map((tool) => `  ${tool}: ${pascal(tool)}Globals;\n`).join("") +
    `}\n\n` +
    `/** Shared libraries (base64), in load order. */\n` +
    `export const libraries: Record<string, string> = {\n${libraries.join("\n")}\n};\n\n` +
    `/** The static executable that starts command mode's CMD (src/trace/command_exec.c), base64. */\n` +
    `export const commandExec = ${JSON.stringify(buildCommandExec().toBase64())};\n`,
);
console.log(`built gen/assets.ts: ${programs.length} program(s), ${libraries.length} libraries`);
console.log(`built gen/manuals.ts: ${writeManuals()} manual(s)`);
