/**
 * Checks that the layers of the program import one way: reads the import
 * graph Deno itself resolves (`deno info --json`, type-only imports
 * included) from mod.ts and from every module of src/, and fails with one
 * line per import that runs up the layers, names a place no layer holds, or
 * closes a cycle of files inside one place. Tests (`*_test.ts`, tests/) and
 * the build scripts are not layers: nothing of the program imports them.
 *
 * The layers, from the ground up (a place may import only places below it):
 *
 *   src/c_string.ts  reading a C string of a record: the one module the
 *                    generated decoders import, so it imports nothing
 *   src/version.ts
 *   gen              generated at build time: the embedded objects and
 *                    libraries, the structs' types and decoders
 *   src/ffi          libbpf and libc, bound
 *   src/bpf          an object's life: open, load, attach, maps, ring buffer
 *   src/events       the events decoded, addresses, identities
 *   src/output       columns, CSV, JSON, exposition text; the writer
 *   src/dns          DNS answers of `connect`, parsed and cached
 *   src/cli          the argparse-compatible parser, the shared flags and
 *                    the options they make
 *   src/trace        the run session: check, load, attach, loop, release
 *   src/metrics      the Prometheus series and their endpoint
 *   src/tools        one description per tool, and the registry
 *   src/main.ts      dispatch: argv to a tool, errors to exit codes
 *   mod.ts           the entry
 *
 * Places in one row of LAYERS are siblings: neither imports the other.
 *
 * Usage: deno run -A scripts/check_layers.ts (part of `deno task check`;
 * needs gen/, which `deno task build` writes).
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** From the ground up; each row may import the rows before it. */
export const LAYERS: readonly (readonly string[])[] = [
  ["src/c_string.ts", "src/version.ts"],
  ["gen"],
  ["src/ffi"],
  ["src/bpf"],
  ["src/events"],
  ["src/output"],
  ["src/dns"],
  ["src/cli"],
  ["src/trace", "src/metrics"],
  ["src/tools"],
  ["src/main.ts"],
  ["mod.ts"],
];

/** One import: `from` imports `to` (paths from the project's root). */
export interface Edge {
  from: string;
  to: string;
}

/**
 * The place a module belongs to: its folder under src/ (`src/cli`), `gen`,
 * or the file itself where it stands alone (`mod.ts`, `src/main.ts`).
 */
export function placeOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "gen") return "gen";
  if (parts[0] === "src" && parts.length > 2) return `src/${parts[1]}`;
  return path;
}

function isTest(path: string): boolean {
  return path.startsWith("tests/") || /_test\.ts$/.test(path);
}

/** Every problem of the graph, one line an edge (none: the layers hold). */
export function layerProblems(edges: readonly Edge[]): string[] {
  const rank = new Map<string, number>();
  LAYERS.forEach((row, at) => row.forEach((place) => rank.set(place, at)));
  const problems: string[] = [];
  for (const { from, to } of edges) {
    const [a, b] = [placeOf(from), placeOf(to)];
    if (a === b) continue;
    const [ra, rb] = [rank.get(a), rank.get(b)];
    if (ra === undefined || rb === undefined) {
      const unknown = ra === undefined ? a : b;
      problems.push(`${from} -> ${to}: ${unknown} is in no layer (add it to LAYERS)`);
    } else if (ra < rb) {
      problems.push(`${from} -> ${to}: ${a} is below ${b}, so it may not import it`);
    } else if (ra === rb) {
      problems.push(`${from} -> ${to}: ${a} and ${b} are siblings, neither imports the other`);
    }
  }
  for (const cycle of cyclesInsidePlaces(edges)) {
    for (const { from, to } of cycle) {
      problems.push(`${from} -> ${to}: a cycle of files inside ${placeOf(from)}`);
    }
  }
  return problems;
}

/** The edges of each cycle of files that stay inside one place (Tarjan's components). */
function cyclesInsidePlaces(edges: readonly Edge[]): Edge[][] {
  const inside = edges.filter(({ from, to }) => placeOf(from) === placeOf(to));
  const next = new Map<string, string[]>();
  for (const { from, to } of inside) next.set(from, [...(next.get(from) ?? []), to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const component = new Map<string, number>();
  let count = 0;
  let components = 0;
  const visit = (file: string): void => {
    index.set(file, count);
    low.set(file, count++);
    stack.push(file);
    for (const to of next.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (!component.has(to)) {
        low.set(file, Math.min(low.get(file)!, index.get(to)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    let member: string;
    do {
      member = stack.pop()!;
      component.set(member, components);
    } while (member !== file);
    components++;
  };
  for (const file of next.keys()) if (!index.has(file)) visit(file);
  const byComponent = new Map<number, Edge[]>();
  for (const edge of inside) {
    const c = component.get(edge.from);
    if (c === undefined || c !== component.get(edge.to)) continue;
    byComponent.set(c, [...(byComponent.get(c) ?? []), edge]);
  }
  return [...byComponent.values()];
}

interface DenoInfo {
  modules: {
    specifier: string;
    error?: string;
    dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
  }[];
}

/** The imports among the project's modules that `roots` reach, as Deno resolves them. */
function importGraph(root: string, roots: string[]): Edge[] {
  const edges = new Map<string, Edge>();
  const seen = new Set<string>();
  const pathOf = (specifier: string): string | undefined =>
    specifier.startsWith("file://") ? relative(root, fileURLToPath(specifier)) : undefined;
  for (const file of roots) {
    if (seen.has(file)) continue;
    const out = new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", join(root, file)],
      cwd: root,
      stderr: "inherit",
    }).outputSync();
    if (!out.success) throw new Error(`deno info ${file} failed (exit ${out.code})`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as DenoInfo;
    for (const module of info.modules) {
      const from = pathOf(module.specifier);
      if (from === undefined || from.startsWith("..")) continue;
      if (module.error) throw new Error(`deno info ${file}: ${module.error}`);
      seen.add(from);
      for (const dependency of module.dependencies ?? []) {
        for (const target of [dependency.code, dependency.type]) {
          const to = target && pathOf(target.specifier);
          if (to === undefined || to.startsWith("..")) continue;
          edges.set(`${from} ${to}`, { from, to });
        }
      }
    }
  }
  return [...edges.values()].filter(({ from, to }) => !isTest(from) && !isTest(to));
}

function modulesOf(root: string, dir: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(join(root, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...modulesOf(root, path));
    else if (path.endsWith(".ts") && !isTest(path)) found.push(path);
  }
  return found.sort();
}

if (import.meta.main) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  try {
    Deno.statSync(join(root, "gen/assets.ts"));
  } catch {
    console.error("check layers: gen/ is missing: run `deno task build` first");
    Deno.exit(1);
  }
  const problems = layerProblems(importGraph(root, ["mod.ts", ...modulesOf(root, "src")]));
  for (const line of problems) console.error(`check layers: ${line}`);
  if (problems.length > 0) Deno.exit(1);
}
