/**
 * The start every run shares, line-per-event tools and metrics alike: open
 * the tool's BPF object, write its configuration and scope, load it, fill
 * its port filters and attach every program.
 *
 * @module
 */
import type { ProgramGlobals } from "../../gen/assets.ts";
import { BpfObject, type MapOf, type ProgramName, type ProgramOf } from "../bpf/object.ts";
import { showLibbpfLog } from "../ffi/embedded_libbpf.ts";
import { btfPath, checkNetAdmin } from "./environment.ts";
import type { Scope } from "./scope.ts";

/**
 * Once this much waits in the ring buffer (or half of it, if smaller), each
 * new event wakes the reader, which then drains at once instead of waiting
 * out its batch period (submit_event in bpf/common.bpf.h). It bounds a
 * batch to about 600 life events: the memory its lines take while they are
 * formatted, which a 240 ms batch at 10,000 events a second would multiply
 * (peak RSS 85 MB at 5,000 connections a second without it), and how much
 * of the buffer a burst may fill before the reader starts on it.
 */
const BATCH_BYTES = 64 * 1024;

/**
 * The ring buffer of a run that sends no events (metrics, --hist): every
 * object has one (bpf/common.bpf.h), kept at its least, a page.
 */
export const NO_EVENTS_RING_BYTES = 4096;

/** Something for some of the maps of object `P`, by map name. */
export type MapValues<P extends ProgramName, T> = Partial<Record<MapOf<P>, T>>;

/** The entries of `values`, with their map names typed. */
function byMap<P extends ProgramName, T>(values: MapValues<P, T> = {}): [MapOf<P>, T][] {
  return Object.entries(values) as [MapOf<P>, T][];
}

/** What loading a tool's object needs. */
export interface AttachSpec<P extends ProgramName> {
  program: P;
  /** `.rodata` globals written before load (the rest keep their C values). */
  globals: ProgramGlobals[P];
  /** Port filter maps to fill after load: map name -> ports. */
  portFilters?: MapValues<P, number[]>;
  /** Maps sized before load: map name -> most entries. */
  mapSizes?: MapValues<P, number>;
  /** Programs of the object not to load (not needed for these options). */
  skipLoad?: ProgramOf<P>[];
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
    object.setRingBuffer(spec.ringBytes, Math.min(spec.ringBytes / 2, BATCH_BYTES));
    for (const [map, entries] of byMap(spec.mapSizes)) {
      object.setMaxEntries(map, entries);
    }
    for (const program of spec.skipLoad ?? []) object.skipLoad(program);
    if (object.attachesToCgroups()) checkNetAdmin();
    scope.reuseMaps(object);
    object.load();
    for (const [map, ports] of byMap(spec.portFilters)) {
      object.fillPortFilter(map, ports);
    }
    object.attachAll();
    return object;
  } catch (error) {
    object.close();
    throw error;
  }
}
