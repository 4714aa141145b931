/**
 * What a run traces and for how long, for every tool alike: --cgroup,
 * --cgroupmap, --mntnsmap (bpf/common.bpf.h's scope filters), --duration,
 * and command mode (trace/command.ts). Opened once the environment is
 * checked; disposing it releases the pinned maps and the command's cgroup.
 *
 * @module
 */
import { BpfError } from "../bpf/errors.ts";
import type { ProgramGlobals } from "../../gen/assets.ts";
import type { BpfObject, MapOf, ProgramName } from "../bpf/object.ts";
import { NotPinnedError, openPinnedMap, type PinnedMap } from "../bpf/pinned_map.ts";
import type { ScopeOptions } from "../cli/args.ts";
import { UsageError } from "../cli/errors.ts";
import { TracedCommand } from "./command.ts";

// enum bpf_map_type: the kinds of map bcc's --cgroupmap and --mntnsmap are.
const BPF_MAP_TYPE_HASH = 1;
const BPF_MAP_TYPE_LRU_HASH = 9;

/**
 * After the command exits, this long for what its end set off in the kernel
 * (e.g. the close of its sockets, reported in softirq) to reach the buffer.
 */
const COMMAND_LINGER_MS = 100;

/**
 * The `.rodata` scope globals of bpf/common.bpf.h, which every object has:
 * their names and types are the generated ones (gen/<tool>.ts).
 */
export type ScopeGlobals = Required<
  Pick<
    ProgramGlobals[ProgramName],
    "target_cgroup_id" | "target_cgroup_level" | "filter_cgroupmap" | "filter_mntnsmap"
  >
>;

/** A map of --cgroupmap or --mntnsmap, and how the user named it. */
interface KeyMap {
  flag: string;
  path: string;
  map: PinnedMap;
}

/** Opens a pinned map for --cgroupmap/--mntnsmap; a usage error if there is none. */
function openKeyMap(flag: string, path: string): KeyMap {
  try {
    return { flag, path, map: openPinnedMap(path) };
  } catch (error) {
    if (!(error instanceof BpfError || error instanceof NotPinnedError)) throw error;
    throw new UsageError(`${flag}: ${error.message}`);
  }
}

/** The scope of one run. */
export class Scope {
  readonly globals: ScopeGlobals;
  readonly #maps: Partial<Record<MapOf<ProgramName>, KeyMap>>;
  readonly #command: TracedCommand | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #deadline = Infinity;

  private constructor(
    readonly options: ScopeOptions,
    maps: Partial<Record<MapOf<ProgramName>, KeyMap>>,
    command: TracedCommand | undefined,
  ) {
    this.#maps = maps;
    this.#command = command;
    const target = command?.cgroup.directory ?? options.cgroup;
    this.globals = {
      target_cgroup_id: target?.id ?? 0,
      target_cgroup_level: target?.level ?? 0,
      filter_cgroupmap: maps.cgroupmap ? 1 : 0,
      filter_mntnsmap: maps.mntnsmap ? 1 : 0,
    };
  }

  /** Checks the combination, opens the pinned maps, creates the command's cgroup. */
  static open(options: ScopeOptions): Scope {
    if (options.command && options.cgroup) {
      throw new UsageError("--cgroup is not allowed with a command (it is traced by its own)");
    }
    if (options.command && options.duration !== undefined) {
      throw new UsageError("--duration is not allowed with a command (it ends with the command)");
    }
    const maps: Partial<Record<MapOf<ProgramName>, KeyMap>> = {};
    try {
      if (options.cgroupmap) maps.cgroupmap = openKeyMap("--cgroupmap", options.cgroupmap);
      if (options.mntnsmap) maps.mntnsmap = openKeyMap("--mntnsmap", options.mntnsmap);
      const command = options.command ? new TracedCommand(options.command) : undefined;
      return new Scope(options, maps, command);
    } catch (error) {
      for (const { map } of Object.values(maps)) map[Symbol.dispose]();
      throw error;
    }
  }

  /**
   * Before load: the object's scope maps become the pinned ones; a usage
   * error for one that is not what bcc would take (a hash map with the
   * object's key type).
   */
  reuseMaps(object: BpfObject): void {
    for (const [name, { flag, path, map }] of Object.entries(this.#maps)) {
      const keySize = object.entry(name as MapOf<ProgramName>).key.byteLength;
      if (
        (map.type !== BPF_MAP_TYPE_HASH && map.type !== BPF_MAP_TYPE_LRU_HASH) ||
        map.keySize !== keySize
      ) {
        throw new UsageError(`${flag}: ${path} is not a hash map with ${keySize}-byte keys`);
      }
      object.reuseMap(name as MapOf<ProgramName>, map.fd);
    }
  }

  /** In command mode, signals to tcptools go to the command instead of stopping the run. */
  get passesSignals(): boolean {
    return this.#command !== undefined;
  }

  /**
   * Once attached: starts what ends the run by itself, and resolves to the
   * exit status then (--duration: 0; a command: its status); undefined if
   * only a signal or a closed stdout ends it.
   */
  begin(): Promise<number> | undefined {
    const { duration } = this.options;
    if (this.#command) {
      return this.#command.run().then(async (status) => {
        await new Promise((resolve) => setTimeout(resolve, COMMAND_LINGER_MS));
        return status;
      });
    }
    if (duration !== undefined) {
      this.#deadline = performance.now() + duration * 1000;
      return new Promise((resolve) => this.#timer = setTimeout(() => resolve(0), duration * 1000));
    }
    return undefined;
  }

  /**
   * When --duration ends the run, on performance.now()'s clock (Infinity
   * without it): a wait that blocks the event loop must not last past it.
   */
  get deadline(): number {
    return this.#deadline;
  }

  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
    for (const { map } of Object.values(this.#maps)) map[Symbol.dispose]();
    this.#command?.[Symbol.dispose]();
    this.#command?.cgroup[Symbol.dispose]();
  }
}
