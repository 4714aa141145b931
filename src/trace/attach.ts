/**
 * The start every run shares, line-per-event tools and metrics alike: open
 * the tool's BPF object, write its configuration and scope, load it, fill
 * its port filters and attach every program.
 *
 * @module
 */
import type { ProgramGlobals } from "../../gen/assets.ts";
import { BpfObject, type ProgramName } from "../bpf/object.ts";
import { showLibbpfLog } from "../ffi/embedded_libbpf.ts";
import { btfPath, checkNetAdmin } from "./environment.ts";
import type { Scope } from "./scope.ts";

/** What loading a tool's object needs. */
export interface AttachSpec<P extends ProgramName> {
  program: P;
  /** `.rodata` globals written before load (the rest keep their C values). */
  globals: ProgramGlobals[P];
  /** Port filter maps to fill after load: map name -> ports. */
  portFilters?: Record<string, number[]>;
  /** Maps sized before load: map name -> most entries. */
  mapSizes?: Record<string, number>;
  /** Programs of the object not to load (not needed for these options). */
  skipLoad?: string[];
  /** Ring buffer size in bytes (a power of two, at least a page). */
  ringBytes: number;
  /** Keep libbpf's own messages on stderr. */
  verbose?: boolean;
}

/**
 * Opens, configures, loads and attaches the object; the caller owns it (and
 * has checked the environment and opened the scope).
 */
export function loadAndAttach<P extends ProgramName>(
  spec: AttachSpec<P>,
  scope: Scope,
): BpfObject<P> {
  if (spec.verbose) showLibbpfLog();
  const object = BpfObject.open(spec.program, { btfPath: btfPath() });
  try {
    object.setGlobals({ ...spec.globals, ...scope.globals });
    // Half full: from there each event wakes the reader, which then drains at once.
    object.setRingBuffer(spec.ringBytes, spec.ringBytes / 2);
    for (const [map, entries] of Object.entries(spec.mapSizes ?? {})) {
      object.setMaxEntries(map, entries);
    }
    for (const program of spec.skipLoad ?? []) object.skipLoad(program);
    if (object.attachesToCgroups()) checkNetAdmin();
    scope.reuseMaps(object);
    object.load();
    for (const [map, ports] of Object.entries(spec.portFilters ?? {})) {
      object.fillPortFilter(map, ports);
    }
    object.attachAll();
    return object;
  } catch (error) {
    object.close();
    throw error;
  }
}
