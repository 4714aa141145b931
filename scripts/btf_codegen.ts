/**
 * Generates, from one BPF object's BTF (as `bpftool -j btf dump file`
 * prints it, for an object linked by `bpftool gen object` so that its
 * `.rodata` section has its final offsets), the TypeScript side of what
 * the C side defines: for every struct named `<tool>_*` (events, map keys),
 * or `hist_*` (bpf/histogram.h, which several objects share), an interface
 * and a decoder over a DataView, for every such enum its names and values,
 * and the types and layout of
 * the object's `const volatile` globals. The C header stays the one
 * definition; nothing is copied by hand (as cilium/ebpf's bpf2go does).
 *
 * @module
 */

/** One type of `bpftool -j btf dump` output (the fields read here). */
export interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  encoding?: string;
  linkage?: string;
  nr_elems?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
  vars?: { type_id: number; offset: number; size: number }[];
  values?: { name: string; val: number }[];
}

/** Where a global lives in `.rodata`. */
export interface Slot {
  offset: number;
  size: number;
}

/** What the build writes for one object. */
export interface Generated {
  /** The module text of gen/<tool>.ts. */
  module: string;
  /** `.rodata` globals by name, for the loader. */
  rodata: Record<string, Slot>;
}

type Field =
  | { kind: "int"; size: number; signed: boolean }
  | { kind: "bytes"; size: number }
  | { kind: "string"; size: number };

/** `life_event` -> `LifeEvent` (the struct's type is then `LifeEventRecord`). */
export function pascal(name: string): string {
  return name.split("_").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
}

class Btf {
  #byId: Map<number, BtfType>;
  constructor(readonly types: BtfType[]) {
    this.#byId = new Map(types.map((t) => [t.id, t]));
  }

  get(id: number): BtfType {
    const t = this.#byId.get(id);
    if (t === undefined) throw new Error(`BTF type ${id} is missing`);
    return t;
  }

  /** Skips typedefs and qualifiers. */
  resolve(id: number): BtfType {
    let t = this.get(id);
    while (["TYPEDEF", "CONST", "VOLATILE", "RESTRICT"].includes(t.kind)) t = this.get(t.type_id!);
    return t;
  }

  field(id: number, where: string): Field {
    const t = this.resolve(id);
    if (t.kind === "INT") {
      return { kind: "int", size: t.size!, signed: t.encoding === "SIGNED" && t.name !== "char" };
    }
    if (t.kind === "ARRAY") {
      const element = this.resolve(t.type_id!);
      if (element.kind === "INT" && element.size === 1) {
        return { kind: element.name === "char" ? "string" : "bytes", size: t.nr_elems! };
      }
    }
    throw new Error(`${where}: no TypeScript form for BTF ${t.kind} ${t.name}`);
  }
}

function read(field: Field, offset: number): string {
  if (field.kind === "string") return `readCString(view, ${offset}, ${field.size})`;
  if (field.kind === "bytes") {
    return `new Uint8Array(view.buffer, view.byteOffset + ${offset}, ${field.size})`;
  }
  const sign = field.signed ? "Int" : "Uint";
  if (field.size === 1) return `view.get${sign}8(${offset})`;
  // Two 32-bit halves, not getBig*64: no BigInt allocated per field, and the
  // same double (hi * 2^32 is exact; the one addition rounds as Number() would).
  if (field.size === 8) {
    return `view.get${sign}32(${offset + 4}, true) * 4294967296 + view.getUint32(${offset}, true)`;
  }
  return `view.get${sign}${field.size * 8}(${offset}, true)`;
}

function tsType(field: Field): string {
  return field.kind === "string" ? "string" : field.kind === "bytes" ? "Uint8Array" : "number";
}

function struct(btf: Btf, t: BtfType, header: string): string {
  const type = `${pascal(t.name)}Record`;
  const fields: string[] = [];
  const reads: string[] = [];
  for (const m of t.members!) {
    // Explicit padding is part of the layout, not of the data.
    if (/^pad\d*$/.test(m.name)) continue;
    if (m.bits_offset % 8 !== 0) throw new Error(`${t.name}.${m.name}: a bitfield`);
    const field = btf.field(m.type_id, `${t.name}.${m.name}`);
    fields.push(`  ${m.name}: ${tsType(field)};`);
    reads.push(`    ${m.name}: ${read(field, m.bits_offset / 8)},`);
  }
  return `/** struct ${t.name} (${header}). */
export interface ${type} {
${fields.join("\n")}
}

/** sizeof(struct ${t.name}). */
export const ${type}Size = ${t.size};

/**
 * Decodes struct ${t.name} from a record; throws on a record shorter than the
 * struct. Byte arrays are views into the record, not copies.
 */
export function decode${type}(view: DataView): ${type} {
  if (view.byteLength < ${t.size}) {
    throw new RangeError(\`decode ${t.name}: record has \${view.byteLength} bytes, needs ${t.size}\`);
  }
  return {
${reads.join("\n")}
  };
}
`;
}

function enumeration(t: BtfType, header: string): string {
  const values = t.values!.map((v) => `  ${v.name}: ${v.val},`);
  return `/** enum ${t.name} (${header}). */
export const ${pascal(t.name)} = {
${values.join("\n")}
} as const;
`;
}

/** The types of headers several objects include: name prefix -> header. */
const SHARED: Record<string, string> = { hist_: "bpf/histogram.h" };

/** Generates gen/<tool>.ts for the object of `tool` from its BTF. */
export function generate(tool: string, types: BtfType[]): Generated {
  const btf = new Btf(types);
  const headerOf = (name: string) =>
    name.startsWith(`${tool}_`)
      ? `bpf/${tool}.h`
      : Object.entries(SHARED).find(([prefix]) => name.startsWith(prefix))?.[1];
  const ours = (kind: string) => types.filter((t) => t.kind === kind && headerOf(t.name));
  // Every object shares something with user space (an event, a map key).
  if (!types.some((t) => t.kind === "STRUCT" && t.name.startsWith(`${tool}_`))) {
    throw new Error(`no struct ${tool}_* is in the BTF of ${tool}.bpf.o`);
  }
  const rodata: Record<string, Slot> = {};
  const globals: string[] = [];
  const section = types.find((t) => t.kind === "DATASEC" && t.name === ".rodata");
  for (const v of section?.vars ?? []) {
    const variable = btf.get(v.type_id);
    const field = btf.field(variable.type_id!, `global ${variable.name}`);
    if (field.kind !== "int") throw new Error(`global ${variable.name}: only integers are set`);
    rodata[variable.name] = { offset: v.offset, size: v.size };
    globals.push(`  ${variable.name}?: number;`);
  }
  const module = `// Generated by scripts/build.ts from the BTF of gen/${tool}.bpf.o; do not edit.
import { readCString } from "../src/c_string.ts";

${ours("ENUM").map((t) => enumeration(t, headerOf(t.name)!)).join("\n")}
${ours("STRUCT").map((t) => struct(btf, t, headerOf(t.name)!)).join("\n")}
/** The \`const volatile\` globals of bpf/${tool}.bpf.c, set before load; unset ones keep their C value. */
export interface ${pascal(tool)}Globals {
${globals.join("\n")}
}
`;
  return { module, rodata };
}

/** The programs and maps of one object, by the names libbpf finds them by. */
export interface ObjectNames {
  programs: string[];
  maps: string[];
}

/** The data sections libbpf makes a map of, each named by its section (`.rodata`). */
const DATA_SECTIONS = [".rodata", ".data", ".bss"];

/**
 * Reads from an object's BTF the names of its programs (its global
 * functions: each is a program, as libbpf takes them) and its maps (the
 * variables of `.maps`, and the data sections that hold variables).
 */
export function objectNames(types: BtfType[]): ObjectNames {
  const btf = new Btf(types);
  const programs = types
    .filter((t) => t.kind === "FUNC" && t.linkage === "global")
    .map((t) => t.name);
  const maps: string[] = [];
  for (const section of types.filter((t) => t.kind === "DATASEC")) {
    if (section.name === ".maps") {
      maps.push(...section.vars!.map((v) => btf.get(v.type_id).name));
    } else if (DATA_SECTIONS.includes(section.name) && section.vars?.length) {
      maps.push(section.name);
    }
  }
  return { programs, maps };
}

const literals = (names: string[]) =>
  names.length === 0 ? "never" : names.map((name) => JSON.stringify(name)).join(" | ");

/**
 * gen/names.ts: the names of every object's programs and maps as types
 * (as bpf2go generates them), so that a program or map looked up by a name
 * the object lacks fails type checking. It imports nothing.
 */
export function namesModule(objects: Record<string, ObjectNames>): string {
  const all = Object.values(objects);
  const common = all[0]?.maps.filter((map) => all.every((o) => o.maps.includes(map))) ?? [];
  const entries = Object.entries(objects).map(([tool, names]) =>
    `  ${tool}: {\n` +
    `    programs: ${literals(names.programs)};\n` +
    `    maps: ${literals(names.maps)};\n` +
    `  };\n`
  );
  return `// Generated by scripts/build.ts from the BTF of gen/*.bpf.o; do not edit.

/** The programs and maps of each BPF object (bpf/<tool>.bpf.c), by name. */
export interface ObjectNames {
${entries.join("")}}

/** The maps every object has (bpf/common.bpf.h). */
export type CommonMapName = ${literals(common)};
`;
}
