/**
 * One embedded BPF object through its life: open from memory, configure the
 * `.rodata` globals and map sizes, load (CO-RE relocation against the running
 * kernel's BTF happens here), fill filter maps, attach, close. The object owns
 * its links; `close()` destroys them first and is safe to call twice.
 *
 * @module
 */
import { type ProgramGlobals, programs } from "../../gen/assets.ts";
import type { CommonMapName, ObjectNames } from "../../gen/names.ts";
import { cString, errno, libc } from "../ffi/libc.ts";
import { libbpf } from "../ffi/embedded_libbpf.ts";
import { OPEN_OPTS } from "../ffi/libbpf.ts";
import { openCgroupV2Root } from "./cgroup_root.ts";
import { BpfError, BpfUsageError } from "./errors.ts";
import { openTracepoint } from "./tracepoint.ts";

// enum bpf_prog_type (include/uapi/linux/bpf.h).
const BPF_PROG_TYPE_CGROUP_SKB = 8;
const BPF_PROG_TYPE_SOCK_OPS = 13;
/** The section of a program on a tracefs event: SEC("tracepoint/<category>/<name>"). */
const TRACEFS_SECTION = "tracepoint/";

/** The names of the embedded programs (one per tool). */
export type ProgramName = keyof typeof programs;

/** A program of object `P`, by its function name (gen/names.ts). */
export type ProgramOf<P extends ProgramName> = ObjectNames[P]["programs"];

/**
 * A map of object `P`, by name (gen/names.ts); the maps of bpf/common.bpf.h
 * are also named where `P` is not yet known.
 */
export type MapOf<P extends ProgramName> = ObjectNames[P]["maps"] | CommonMapName;

/** Options for {@linkcode BpfObject.open}. */
export interface OpenOptions {
  /** BTF of the running kernel to relocate against; libbpf's default is /sys/kernel/btf/vmlinux. */
  btfPath?: string;
}

/** A loaded (or about to be loaded) BPF object of program `P` and the links it owns. */
export class BpfObject<P extends ProgramName = ProgramName> {
  #object: Deno.PointerObject | null;
  #links: Deno.PointerObject[] = [];
  #programNames: ProgramOf<P>[] | undefined;
  readonly name: P;
  // libbpf reads the ELF image and the options lazily until load: keep them alive.
  #keepAlive: unknown[];

  private constructor(
    name: P,
    object: Deno.PointerObject,
    keepAlive: unknown[],
  ) {
    this.name = name;
    this.#object = object;
    this.#keepAlive = keepAlive;
  }

  /** Opens the embedded object of program `name` (nothing is loaded into the kernel yet). */
  static open<P extends ProgramName>(name: P, options: OpenOptions = {}): BpfObject<P> {
    const lib = libbpf();
    const image = Uint8Array.fromBase64(programs[name].object) as Uint8Array<ArrayBuffer>;
    const opts = new Uint8Array(OPEN_OPTS.size);
    const view = new DataView(opts.buffer);
    view.setBigUint64(0, BigInt(OPEN_OPTS.size), true);
    const keepAlive: unknown[] = [image, opts];
    if (options.btfPath !== undefined) {
      const path = cString(options.btfPath);
      keepAlive.push(path);
      view.setBigUint64(
        OPEN_OPTS.btfCustomPath,
        BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(path))),
        true,
      );
    }
    const object = lib.bpf_object__open_mem(image, BigInt(image.byteLength), opts);
    if (object === null) throw new BpfError(`open BPF object ${name}`, errno());
    return new BpfObject(name, object, keepAlive);
  }

  #handle(): Deno.PointerObject {
    if (this.#object === null) throw new BpfUsageError(`BPF object ${this.name} is closed`);
    return this.#object;
  }

  // Handles found once: the loss checks look them up every second.
  #maps = new Map<string, Deno.PointerObject>();
  #programHandles = new Map<string, Deno.PointerObject>();

  #map(mapName: MapOf<P>): Deno.PointerObject {
    let map = this.#maps.get(mapName) ?? null;
    if (map !== null) return map;
    map = libbpf().bpf_object__find_map_by_name(this.#handle(), cString(mapName));
    if (map === null) throw new BpfUsageError(`BPF object ${this.name} has no map ${mapName}`);
    this.#maps.set(mapName, map);
    return map;
  }

  /**
   * Writes `const volatile` globals before load; those left out keep their
   * C value. The names and types are generated from the object's BTF, so a
   * global the object does not have fails type checking; the layout check
   * here guards callers that bypass the types.
   */
  setGlobals(values: ProgramGlobals[P]): void {
    this.#writeGlobals(values as Record<string, number | undefined>);
  }

  #writeGlobals(values: Record<string, number | undefined>): void {
    const layout: Record<string, { offset: number; size: number }> = programs[this.name].rodata;
    const size = new BigUint64Array(1);
    const data = libbpf().bpf_map__initial_value(this.#map(".rodata"), size);
    if (data === null) throw new BpfUsageError(`BPF object ${this.name} has no .rodata`);
    const rodata = new DataView(Deno.UnsafePointerView.getArrayBuffer(data, Number(size[0])));
    for (const [global, value] of Object.entries(values)) {
      if (value === undefined) continue;
      const slot = layout[global];
      if (slot === undefined) {
        throw new BpfUsageError(`BPF object ${this.name} has no global ${global}`);
      }
      if (slot.size === 1) rodata.setUint8(slot.offset, value);
      else if (slot.size === 2) rodata.setUint16(slot.offset, value, true);
      else if (slot.size === 4) rodata.setUint32(slot.offset, value, true);
      else rodata.setBigUint64(slot.offset, BigInt(value), true);
    }
  }

  /**
   * Sizes the event ring buffer (`events` in bpf/common.bpf.h) before load,
   * and sets how full it may get before each event wakes the reader at once
   * (`wakeup_bytes`).
   */
  setRingBuffer(bytes: number, wakeupBytes: number): void {
    const rc = libbpf().bpf_map__set_max_entries(this.#map("events"), bytes);
    if (rc < 0) throw new BpfError("resize BPF map events", -rc);
    this.#writeGlobals({ wakeup_bytes: wakeupBytes });
  }

  /** Before load: sizes a map (e.g. a hash map's most entries). */
  setMaxEntries(mapName: MapOf<P>, entries: number): void {
    const rc = libbpf().bpf_map__set_max_entries(this.#map(mapName), entries);
    if (rc < 0) throw new BpfError(`resize BPF map ${mapName}`, -rc);
  }

  /**
   * Before load: the object's map `mapName` becomes the existing map open
   * as `fd` (libbpf dups it, and takes its type and sizes): e.g. a map the
   * user pinned.
   */
  reuseMap(mapName: MapOf<P>, fd: number): void {
    const rc = libbpf().bpf_map__reuse_fd(this.#map(mapName), fd);
    if (rc < 0) throw new BpfError(`reuse a map as BPF map ${mapName}`, -rc);
  }

  /** Verifies, relocates and loads every program and map into the kernel. */
  load(): void {
    const rc = libbpf().bpf_object__load(this.#handle());
    if (rc < 0) throw new BpfError(`load BPF object ${this.name}`, -rc);
  }

  /** Calls bpf_map__update_elem or bpf_map__lookup_elem (same arguments) on one entry. */
  #element(
    call: "bpf_map__update_elem" | "bpf_map__lookup_elem",
    mapName: MapOf<P>,
    key: Uint8Array<ArrayBuffer>,
    value: Uint8Array<ArrayBuffer>,
  ): number {
    const size = (bytes: Uint8Array) => BigInt(bytes.byteLength);
    return libbpf()[call](this.#map(mapName), key, size(key), value, size(value), 0n);
  }

  /** Sets one entry of a loaded map. */
  updateMap(mapName: MapOf<P>, key: Uint8Array<ArrayBuffer>, value: Uint8Array<ArrayBuffer>): void {
    const rc = this.#element("bpf_map__update_elem", mapName, key, value);
    if (rc < 0) throw new BpfError(`update BPF map ${mapName}`, -rc);
  }

  /** Reads one entry of a loaded map into `value`; false if the key is absent. */
  lookupMap(
    mapName: MapOf<P>,
    key: Uint8Array<ArrayBuffer>,
    value: Uint8Array<ArrayBuffer>,
  ): boolean {
    const rc = this.#element("bpf_map__lookup_elem", mapName, key, value);
    if (rc === -2) return false; // -ENOENT
    if (rc < 0) throw new BpfError(`read BPF map ${mapName}`, -rc);
    return true;
  }

  /**
   * Removes one entry of a loaded hash map, reading its last value into
   * `value` in the same step where the kernel can (hash maps: Linux 5.14;
   * before, `value` is left as it was); false if the key was absent.
   */
  takeMapEntry(
    mapName: MapOf<P>,
    key: Uint8Array<ArrayBuffer>,
    value: Uint8Array<ArrayBuffer>,
  ): boolean {
    const lib = libbpf();
    const map = this.#map(mapName);
    const keySize = BigInt(key.byteLength);
    let rc = lib.bpf_map__lookup_and_delete_elem(
      map,
      key,
      keySize,
      value,
      BigInt(value.byteLength),
      0n,
    );
    if (rc < 0 && rc !== -2) rc = lib.bpf_map__delete_elem(map, key, keySize, 0n);
    if (rc === -2) return false; // -ENOENT
    if (rc < 0) throw new BpfError(`delete from BPF map ${mapName}`, -rc);
    return true;
  }

  /**
   * A zeroed key and value of map `mapName`, of the sizes libbpf reads from
   * the object (the C definition of the map's types).
   */
  entry(mapName: MapOf<P>): { key: Uint8Array<ArrayBuffer>; value: Uint8Array<ArrayBuffer> } {
    const map = this.#map(mapName);
    return {
      key: new Uint8Array(libbpf().bpf_map__key_size(map)),
      value: new Uint8Array(libbpf().bpf_map__value_size(map)),
    };
  }

  /** Every key and value of a loaded hash map (copies; the map may change meanwhile). */
  *entries(mapName: MapOf<P>): Generator<[Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>]> {
    const lib = libbpf();
    const map = this.#map(mapName);
    const keySize = lib.bpf_map__key_size(map);
    const valueSize = lib.bpf_map__value_size(map);
    let key: Uint8Array<ArrayBuffer> | null = null;
    for (;;) {
      const next = new Uint8Array(keySize);
      const rc = lib.bpf_map__get_next_key(map, key, next, BigInt(keySize));
      if (rc === -2) return; // -ENOENT: no more keys
      if (rc < 0) throw new BpfError(`iterate BPF map ${mapName}`, -rc);
      const value = new Uint8Array(valueSize);
      if (this.lookupMap(mapName, next, value)) yield [next, value];
      key = next;
    }
  }

  /** Sums a per-CPU u64 counter (e.g. the lost-events map) over all CPUs. */
  sumPerCpu(mapName: MapOf<P>, index = 0): number {
    const cpus = libbpf().libbpf_num_possible_cpus();
    if (cpus < 0) throw new BpfError("count CPUs", -cpus);
    const values = new BigUint64Array(cpus);
    const key = new Uint8Array(new Uint32Array([index]).buffer);
    if (!this.lookupMap(mapName, key, new Uint8Array(values.buffer))) return 0;
    return Number(values.reduce((sum, v) => sum + v, 0n));
  }

  /** The file descriptor of a loaded map (owned by the object). */
  mapFd(mapName: MapOf<P>): number {
    const fd = libbpf().bpf_map__fd(this.#map(mapName));
    if (fd < 0) throw new BpfError(`find BPF map ${mapName}`, -fd);
    return fd;
  }

  /** The names of the object's programs, in the object's order. */
  programs(): ProgramOf<P>[] {
    if (this.#programNames) return this.#programNames;
    const lib = libbpf();
    const names: ProgramOf<P>[] = [];
    let program = lib.bpf_object__next_program(this.#handle(), null);
    while (program !== null) {
      const name = Deno.UnsafePointerView.getCString(lib.bpf_program__name(program)!);
      names.push(name as ProgramOf<P>);
      program = lib.bpf_object__next_program(this.#handle(), program);
    }
    this.#programNames = names;
    return names;
  }

  /**
   * The kernel hook a program attaches to: its section name, e.g.
   * "tp_btf/inet_sock_set_state" or "tracepoint/syscalls/sys_exit_accept4".
   */
  hookOf(programName: ProgramOf<P>): string {
    return Deno.UnsafePointerView.getCString(
      libbpf().bpf_program__section_name(this.#program(programName))!,
    );
  }

  /** Attaches a loaded program by its function name; the object owns the link. */
  attach(programName: ProgramOf<P>): void {
    const link = libbpf().bpf_program__attach(this.#program(programName));
    if (link === null) {
      throw new BpfError(`attach BPF program ${programName}`, errno(), this.hookOf(programName));
    }
    this.#links.push(link);
  }

  /** The programs that load (all but those skipped with {@linkcode skipLoad}). */
  #loadedPrograms(): ProgramOf<P>[] {
    return this.programs().filter((name) => libbpf().bpf_program__autoload(this.#program(name)));
  }

  #isCgroupProgram(name: ProgramOf<P>): boolean {
    const type = libbpf().bpf_program__type(this.#program(name));
    return type === BPF_PROG_TYPE_SOCK_OPS || type === BPF_PROG_TYPE_CGROUP_SKB;
  }

  /** Whether a program that loads attaches to a cgroup (needs CAP_NET_ADMIN). */
  attachesToCgroups(): boolean {
    return this.#loadedPrograms().some((name) => this.#isCgroupProgram(name));
  }

  /**
   * Attaches every program that was loaded: tracing programs to their
   * tracepoints (tp_btf, or tracefs events such as syscalls:*), cgroup
   * programs (sock_ops, cgroup skb) to the cgroup v2 root, where they run for the
   * sockets of every process.
   */
  attachAll(): void {
    const programs = this.#loadedPrograms();
    for (const name of programs.filter((name) => !this.#isCgroupProgram(name))) {
      // A tracefs event (syscalls:*) is attached through a perf event of our
      // own, so that tracefs need not be mounted (tracepoint.ts).
      const section = this.hookOf(name);
      if (section.startsWith(TRACEFS_SECTION)) {
        this.attachTracepoint(name, section.slice(TRACEFS_SECTION.length));
      } else this.attach(name);
    }
    const cgroupPrograms = programs.filter((name) => this.#isCgroupProgram(name));
    if (cgroupPrograms.length === 0) return;
    using root = openCgroupV2Root();
    for (const name of cgroupPrograms) this.attachCgroup(name, root.fd);
  }

  /**
   * Fills a port filter map (PORT_FILTER_MAP in bpf/common.bpf.h: u16 port
   * keys, host order, u8 values) after load.
   */
  fillPortFilter(mapName: MapOf<P>, ports: number[]): void {
    for (const port of ports) {
      this.updateMap(mapName, new Uint8Array(new Uint16Array([port]).buffer), new Uint8Array([1]));
    }
  }

  /**
   * Tracepoint hits the object's programs lost. The kernel skips a program
   * hit while it is already running on that CPU; a handler attached twice
   * (`<name>` and `<name>_backup`, SET_STATE_HANDLERS in bpf/common.bpf.h)
   * has the backup take exactly those, counted in `rescued_events`. What is
   * left was skipped by both: mostly hits the program would have ignored,
   * so it bounds the missing events rather than counts them.
   */
  unrescuedMisses(): number {
    const primaries = this.#loadedPrograms().filter((name) => !name.endsWith("_backup"));
    const missed = primaries.reduce((sum, name) => sum + this.missedRuns(name), 0);
    return missed - this.sumPerCpu("rescued_events");
  }

  /**
   * Attaches a loaded cgroup program (e.g. sock_ops) to the cgroup open as
   * `cgroupFd`, as a link the object owns (so it is detached on close, or
   * when the process dies, and programs others attached stay). The link
   * holds the cgroup: the descriptor may be closed after.
   */
  attachCgroup(programName: ProgramOf<P>, cgroupFd: number): void {
    const link = libbpf().bpf_program__attach_cgroup(this.#program(programName), cgroupFd);
    if (link === null) {
      throw new BpfError(
        `link BPF program ${programName} to the cgroup v2 root`,
        errno(),
        this.hookOf(programName),
      );
    }
    this.#links.push(link);
  }

  /** Leaves a program out of the load (it needs more privileges, or is not used). */
  skipLoad(programName: ProgramOf<P>): void {
    const rc = libbpf().bpf_program__set_autoload(this.#program(programName), false);
    if (rc < 0) throw new BpfError(`skip BPF program ${programName}`, -rc);
  }

  /**
   * Attaches a loaded program to a tracefs event, e.g.
   * "syscalls/sys_exit_accept4", through a perf event; the object owns the
   * link, and the link the perf event.
   */
  attachTracepoint(programName: ProgramOf<P>, event: string): void {
    const program = this.#program(programName);
    const perfEvent = openTracepoint(event);
    const link = libbpf().bpf_program__attach_perf_event(program, perfEvent);
    if (link === null) {
      const code = errno();
      libc().close(perfEvent);
      throw new BpfError(
        `attach BPF program ${programName} to ${event}`,
        code,
        this.hookOf(programName),
      );
    }
    this.#links.push(link);
  }

  /**
   * How many times the kernel skipped a program because it was already
   * running on that CPU (a softirq interrupting it). The kernel counts them
   * per program and shows the count in the program's fdinfo (Linux 5.12+;
   * 0 where absent).
   */
  missedRuns(programName: ProgramOf<P>): number {
    const info = Deno.readTextFileSync(`/proc/self/fdinfo/${this.#programFd(programName)}`);
    const match = /^recursion_misses:\s+(\d+)$/m.exec(info);
    return match ? Number(match[1]) : 0;
  }

  #program(programName: ProgramOf<P>): Deno.PointerObject {
    let program = this.#programHandles.get(programName) ?? null;
    if (program !== null) return program;
    program = libbpf().bpf_object__find_program_by_name(this.#handle(), cString(programName));
    if (program === null) {
      throw new BpfUsageError(`BPF object ${this.name} has no program ${programName}`);
    }
    this.#programHandles.set(programName, program);
    return program;
  }

  #programFd(programName: ProgramOf<P>): number {
    const fd = libbpf().bpf_program__fd(this.#program(programName));
    if (fd < 0) throw new BpfError(`find BPF program ${programName}`, -fd);
    return fd;
  }

  /** Detaches every link, then unloads the object. Safe to call twice. */
  close(): void {
    const lib = libbpf();
    for (const link of this.#links.splice(0).reverse()) lib.bpf_link__destroy(link);
    this.#maps.clear();
    this.#programHandles.clear();
    if (this.#object !== null) {
      lib.bpf_object__close(this.#object);
      this.#object = null;
      this.#keepAlive = [];
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
