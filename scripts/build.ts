/**
 * Build step 1: compiles every bpf/*.bpf.c into a CO-RE object and writes
 * gen/assets.ts, the one module that carries all embedded bytes: the BPF
 * objects (with the layout of their .rodata globals and event structs, read
 * from the ELF and its BTF) and the libbpf, libelf and zlib shared libraries
 * of this build machine, made to load on glibc 2.28+ (glibc_compat.ts).
 * `deno run`, `deno bundle` and `deno compile` all see the same assets
 * through it.
 *
 * Usage: deno run -A scripts/build.ts
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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

/** Offsets and sizes of the .rodata globals, from the ELF symbol table. */
function rodataLayout(object: string): Record<string, { offset: number; size: number }> {
  const text = run("llvm-readelf", ["-S", "-s", object]);
  const section = text.match(/\[\s*(\d+)\]\s+\.rodata\s/);
  if (!section) return {};
  const globals: Record<string, { offset: number; size: number }> = {};
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    // Num: Value Size Type Bind Vis Ndx Name
    if (f.length === 8 && f[3] === "OBJECT" && f[6] === section[1]) {
      globals[f[7]] = { offset: parseInt(f[1], 16), size: Number(f[2]) };
    }
  }
  return globals;
}

interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
  nr_elems?: number;
}

/**
 * Size and member offsets of each struct named `<tool>_*` (the event, map
 * keys) as recorded in the object's BTF.
 */
function structLayouts(object: string, tool: string) {
  const { types } = JSON.parse(run("bpftool", ["-j", "btf", "dump", "file", object])) as {
    types: BtfType[];
  };
  const byId = new Map(types.map((t) => [t.id, t]));
  const sizeOf = (id: number): number => {
    const t = byId.get(id)!;
    if (t.kind === "ARRAY") return t.nr_elems! * sizeOf(t.type_id!);
    if (t.size !== undefined) return t.size;
    return sizeOf(t.type_id!); // typedef, const, volatile
  };
  const layouts: Record<string, { size: number; members: Record<string, unknown> }> = {};
  for (const t of types) {
    if (t.kind !== "STRUCT" || !t.name.startsWith(`${tool}_`)) continue;
    const members: Record<string, { offset: number; size: number }> = {};
    for (const m of t.members!) {
      members[m.name] = { offset: m.bits_offset / 8, size: sizeOf(m.type_id) };
    }
    layouts[t.name] = { size: t.size!, members };
  }
  if (!layouts[`${tool}_event`]) {
    throw new Error(`${object}: struct ${tool}_event is not in the BTF`);
  }
  return layouts;
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
for (const entry of [...Deno.readDirSync(bpfDir)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.name.endsWith(".bpf.c")) continue;
  const tool = basename(entry.name, ".bpf.c");
  const object = join(genDir, `${tool}.bpf.o`);
  compile(join(bpfDir, entry.name), object);
  const bytes = Deno.readFileSync(object);
  programs.push(
    `  ${tool}: {\n` +
      `    object: ${JSON.stringify(bytes.toBase64())},\n` +
      `    rodata: ${JSON.stringify(rodataLayout(object))},\n` +
      `    structs: ${JSON.stringify(structLayouts(object, tool))},\n` +
      `  },`,
  );
}

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

const libraries = LIBRARIES.map((soname) =>
  `  ${JSON.stringify(soname)}: ${JSON.stringify(libraryBytes(soname).toBase64())},`
);

Deno.writeTextFileSync(
  join(genDir, "assets.ts"),
  `// Generated by scripts/build.ts; do not edit.\n` +
    `/** BPF objects (base64) with their .rodata and struct layouts. */\n` +
    `export const programs = {\n${programs.join("\n")}\n} as const;\n\n` +
    `/** Shared libraries (base64), in load order. */\n` +
    `export const libraries: Record<string, string> = {\n${libraries.join("\n")}\n};\n`,
);
console.log(`built gen/assets.ts: ${programs.length} program(s), ${libraries.length} libraries`);
