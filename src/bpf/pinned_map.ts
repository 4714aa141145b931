/**
 * A BPF map someone pinned in a BPF file system (bpftool map create ...,
 * bcc's --cgroupmap and --mntnsmap), opened by its path.
 *
 * @module
 */
import { cString, libc } from "../ffi/libc.ts";
import { libbpf } from "../ffi/embedded_libbpf.ts";
import { BpfError } from "./errors.ts";

// struct bpf_map_info (include/uapi/linux/bpf.h): type, id, key_size, ... (u32 each).
const INFO_SIZE = 80;
const INFO_TYPE = 0;
const INFO_KEY_SIZE = 8;

/** An open pinned map; closed when disposed. */
export interface PinnedMap {
  fd: number;
  /** enum bpf_map_type */
  type: number;
  keySize: number;
  [Symbol.dispose](): void;
}

/** Opens the map pinned at `path` (BpfError if there is none, or it is not a map). */
export function openPinnedMap(path: string): PinnedMap {
  const lib = libbpf();
  const fd = lib.bpf_obj_get(cString(path));
  if (fd < 0) throw new BpfError(`open pinned BPF map ${path}`, -fd);
  const info = new Uint8Array(INFO_SIZE);
  const length = new Uint32Array([INFO_SIZE]);
  const rc = lib.bpf_obj_get_info_by_fd(fd, info, new Uint8Array(length.buffer));
  if (rc < 0) {
    libc().close(fd);
    throw new BpfError(`read pinned BPF map ${path}`, -rc);
  }
  const view = new DataView(info.buffer);
  return {
    fd,
    type: view.getUint32(INFO_TYPE, true),
    keySize: view.getUint32(INFO_KEY_SIZE, true),
    [Symbol.dispose]: () => libc().close(fd),
  };
}
