/**
 * One embedded BPF object through its life: open from memory, configure the
 * `.rodata` globals and map sizes, load (CO-RE relocation against the running
 * kernel's BTF happens here), fill filter maps, attach, close. The object owns
 * its links; `close()` destroys them first and is safe to call twice.
 *
 * @module
 */
import { programs } from "../../gen/assets.ts";
import { cString, errno, libc } from "../ffi/libc.ts";
import { libbpf } from "../ffi/embedded_libbpf.ts";
import { BpfError, BpfUsageError } from "./errors.ts";
import { openTracepoint } from "./tracepoint.ts";

/** The names of the embedded programs (one per tool). */
export type ProgramName = keyof typeof programs;

/** Options for {@linkcode BpfObject.open}. */
export interface OpenOptions {
  /** BTF of the running kernel to relocate against; libbpf's default is /sys/kernel/btf/vmlinux. */
  btfPath?: string;
}

// struct bpf_object_open_opts (libbpf 1.x), up to and including btf_custom_path.
const OPEN_OPTS_SIZE = 56;
const OPEN_OPTS_BTF_CUSTOM_PATH = 48;

/** A loaded (or about to be loaded) BPF object and the links it owns. */
export class BpfObject {
  #object: Deno.PointerObject | null;
  #links: Deno.PointerObject[] = [];
  readonly name: ProgramName;
  // libbpf reads the ELF image and the options lazily until load: keep them alive.
  #keepAlive: unknown[];

  private constructor(
    name: ProgramName,
    object: Deno.PointerObject,
    keepAlive: unknown[],
  ) {
    this.name = name;
    this.#object = object;
    this.#keepAlive = keepAlive;
  }

  /** Opens the embedded object of program `name` (nothing is loaded into the kernel yet). */
  static open(name: ProgramName, options: OpenOptions = {}): BpfObject {
    const lib = libbpf();
    const image = Uint8Array.fromBase64(programs[name].object) as Uint8Array<ArrayBuffer>;
    const opts = new Uint8Array(OPEN_OPTS_SIZE);
    const view = new DataView(opts.buffer);
    view.setBigUint64(0, BigInt(OPEN_OPTS_SIZE), true);
    const keepAlive: unknown[] = [image, opts];
    if (options.btfPath !== undefined) {
      const path = cString(options.btfPath);
      keepAlive.push(path);
      view.setBigUint64(
        OPEN_OPTS_BTF_CUSTOM_PATH,
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

  #map(mapName: string): Deno.PointerObject {
    const map = libbpf().bpf_object__find_map_by_name(this.#handle(), cString(mapName));
    if (map === null) throw new BpfUsageError(`BPF object ${this.name} has no map ${mapName}`);
    return map;
  }

  /**
   * Writes `const volatile` globals before load. Naming a global the object
   * does not have is an error, not a no-op; sizes come from the object's ELF.
   */
  setGlobals(values: Record<string, number>): void {
    const layout: Record<string, { offset: number; size: number }> = programs[this.name].rodata;
    const size = new BigUint64Array(1);
    const data = libbpf().bpf_map__initial_value(this.#map(".rodata"), size);
    if (data === null) throw new BpfUsageError(`BPF object ${this.name} has no .rodata`);
    const rodata = new DataView(Deno.UnsafePointerView.getArrayBuffer(data, Number(size[0])));
    for (const [global, value] of Object.entries(values)) {
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

  /** Resizes a map before load (e.g. the ring buffer, in bytes). */
  setMaxEntries(mapName: string, entries: number): void {
    const rc = libbpf().bpf_map__set_max_entries(this.#map(mapName), entries);
    if (rc < 0) throw new BpfError(`resize BPF map ${mapName}`, -rc);
  }

  /** Verifies, relocates and loads every program and map into the kernel. */
  load(): void {
    const rc = libbpf().bpf_object__load(this.#handle());
    if (rc < 0) throw new BpfError(`load BPF object ${this.name}`, -rc);
  }

  /** Sets one entry of a loaded map. */
  updateMap(mapName: string, key: Uint8Array<ArrayBuffer>, value: Uint8Array<ArrayBuffer>): void {
    const rc = libbpf().bpf_map__update_elem(
      this.#map(mapName),
      key,
      BigInt(key.byteLength),
      value,
      BigInt(value.byteLength),
      0n,
    );
    if (rc < 0) throw new BpfError(`update BPF map ${mapName}`, -rc);
  }

  /** Reads one entry of a loaded map into `value`; false if the key is absent. */
  lookupMap(
    mapName: string,
    key: Uint8Array<ArrayBuffer>,
    value: Uint8Array<ArrayBuffer>,
  ): boolean {
    const rc = libbpf().bpf_map__lookup_elem(
      this.#map(mapName),
      key,
      BigInt(key.byteLength),
      value,
      BigInt(value.byteLength),
      0n,
    );
    if (rc === -2) return false; // -ENOENT
    if (rc < 0) throw new BpfError(`read BPF map ${mapName}`, -rc);
    return true;
  }

  /** Every key and value of a loaded hash map (copies; the map may change meanwhile). */
  *entries(
    mapName: string,
    keySize: number,
    valueSize: number,
  ): Generator<[Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>]> {
    const lib = libbpf();
    const map = this.#map(mapName);
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
  sumPerCpu(mapName: string, index = 0): number {
    const cpus = libbpf().libbpf_num_possible_cpus();
    if (cpus < 0) throw new BpfError("count CPUs", -cpus);
    const values = new BigUint64Array(cpus);
    const key = new Uint8Array(new Uint32Array([index]).buffer);
    if (!this.lookupMap(mapName, key, new Uint8Array(values.buffer))) return 0;
    return Number(values.reduce((sum, v) => sum + v, 0n));
  }

  /** The file descriptor of a loaded map (owned by the object). */
  mapFd(mapName: string): number {
    const fd = libbpf().bpf_map__fd(this.#map(mapName));
    if (fd < 0) throw new BpfError(`find BPF map ${mapName}`, -fd);
    return fd;
  }

  /** Attaches a loaded program by its function name; the object owns the link. */
  attach(programName: string): void {
    const link = libbpf().bpf_program__attach(this.#program(programName));
    if (link === null) throw new BpfError(`attach BPF program ${programName}`, errno());
    this.#links.push(link);
  }

  /**
   * Attaches a loaded program to a tracefs event, e.g.
   * "syscalls/sys_exit_accept4", through a perf event; the object owns the
   * link, and the link the perf event.
   */
  attachTracepoint(programName: string, event: string): void {
    const program = this.#program(programName);
    const perfEvent = openTracepoint(event);
    const link = libbpf().bpf_program__attach_perf_event(program, perfEvent);
    if (link === null) {
      const code = errno();
      libc().close(perfEvent);
      throw new BpfError(`attach BPF program ${programName} to ${event}`, code);
    }
    this.#links.push(link);
  }

  /**
   * How many times the kernel skipped a program because it was already
   * running on that CPU (a softirq interrupting it). The kernel counts them
   * per program and shows the count in the program's fdinfo (Linux 5.12+;
   * 0 where absent).
   */
  missedRuns(programName: string): number {
    const info = Deno.readTextFileSync(`/proc/self/fdinfo/${this.#programFd(programName)}`);
    const match = /^recursion_misses:\s+(\d+)$/m.exec(info);
    return match ? Number(match[1]) : 0;
  }

  #program(programName: string): Deno.PointerObject {
    const program = libbpf().bpf_object__find_program_by_name(this.#handle(), cString(programName));
    if (program === null) {
      throw new BpfUsageError(`BPF object ${this.name} has no program ${programName}`);
    }
    return program;
  }

  #programFd(programName: string): number {
    const fd = libbpf().bpf_program__fd(this.#program(programName));
    if (fd < 0) throw new BpfError(`find BPF program ${programName}`, -fd);
    return fd;
  }

  /** Detaches every link, then unloads the object. Safe to call twice. */
  close(): void {
    const lib = libbpf();
    for (const link of this.#links.splice(0).reverse()) lib.bpf_link__destroy(link);
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
