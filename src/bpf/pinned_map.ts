/**
 * A BPF map someone pinned in a BPF file system (bpftool map create ...,
 * bcc's --cgroupmap and --mntnsmap), opened by its path.
 *
 * @module
 */
import { cString, libc, STATFS } from "../ffi/libc.ts";
import { libbpf } from "../ffi/embedded_libbpf.ts";
import { BPF_MAP_INFO } from "../ffi/libbpf.ts";
import { BpfError } from "./errors.ts";

/** An open pinned map; closed when disposed. */
export interface PinnedMap {
  fd: number;
  /** enum bpf_map_type */
  type: number;
  keySize: number;
  [Symbol.dispose](): void;
}

/** The path is not on a BPF file system: nothing there can be a pinned map. */
export class NotPinnedError extends Error {
  constructor(path: string) {
    super(`${path} is not a pinned BPF map: it is not on a BPF file system (bpffs, /sys/fs/bpf)`);
    this.name = "NotPinnedError";
  }
}

const BPF_FS_MAGIC = 0xcafe4a11; // include/uapi/linux/magic.h

/**
 * Whether `path` (a link followed, as the kernel's BPF_OBJ_GET does) is on a
 * file system other than bpffs; false if it cannot be told (no such path:
 * opening it then says so).
 */
function elsewhereThanBpffs(path: string): boolean {
  const buffer = new Uint8Array(STATFS.size);
  if (libc().statfs(cString(path), buffer) < 0) return false;
  return Number(new DataView(buffer.buffer).getBigInt64(STATFS.type, true)) !== BPF_FS_MAGIC;
}

/**
 * Opens the map pinned at `path`: NotPinnedError for a path outside a BPF file
 * system (where the kernel's "Permission denied" would mislead), BpfError if
 * there is none, or it is not a map.
 */
export function openPinnedMap(path: string): PinnedMap {
  if (elsewhereThanBpffs(path)) throw new NotPinnedError(path);
  const lib = libbpf();
  const fd = lib.bpf_obj_get(cString(path));
  if (fd < 0) throw new BpfError(`open pinned BPF map ${path}`, -fd);
  const info = new Uint8Array(BPF_MAP_INFO.size);
  const length = new Uint32Array([BPF_MAP_INFO.size]);
  const rc = lib.bpf_obj_get_info_by_fd(fd, info, new Uint8Array(length.buffer));
  if (rc < 0) {
    libc().close(fd);
    throw new BpfError(`read pinned BPF map ${path}`, -rc);
  }
  const view = new DataView(info.buffer);
  return {
    fd,
    type: view.getUint32(BPF_MAP_INFO.type, true),
    keySize: view.getUint32(BPF_MAP_INFO.keySize, true),
    [Symbol.dispose]: () => libc().close(fd),
  };
}
