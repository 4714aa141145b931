/**
 * Opens a tracefs event (e.g. `syscalls/sys_exit_accept4`) as a perf event
 * that a BPF program can be attached to. Such events exist only in tracefs
 * (the per-system-call ones are not tp_btf tracepoints), and perf needs their
 * numeric id, which only tracefs shows. The id is read from a tracefs already
 * mounted if there is one, else from a private tracefs mount that is never
 * attached to any directory (visible to no one) and closed right after, so
 * that tracefs need not be mounted and nothing is mounted for others.
 *
 * @module
 */
import { Errno, errno, libc, PERF_EVENT_ATTR, SYS } from "../ffi/libc.ts";
import { BpfError } from "./errors.ts";
import { mountsOf, withDetachedMount } from "./mounts.ts";

// include/uapi/linux/perf_event.h
const PERF_TYPE_TRACEPOINT = 2;
const PERF_FLAG_FD_CLOEXEC = 8n;

/** Reads `<root>/events/<event>/id`; undefined if the event is not there. */
function readId(root: string, event: string): number | undefined {
  try {
    return Number(Deno.readTextFileSync(`${root}/events/${event}/id`));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new BpfError(`read the id of tracepoint ${event}`, Errno.EACCES);
    }
    throw error;
  }
}

/** The numeric id of a tracefs event, e.g. "syscalls/sys_exit_accept4". */
export function tracepointId(event: string): number {
  for (const { mountPoint } of mountsOf("tracefs")) {
    const id = readId(mountPoint, event);
    if (id !== undefined) return id;
  }
  // A descriptor's /proc link leads into the mount it holds.
  const id = withDetachedMount(
    "tracefs",
    `to find ${event}`,
    (mount) => readId(`/proc/self/fd/${mount}`, event),
  );
  if (id === undefined) throw new BpfError(`find tracepoint ${event}`, Errno.ENOENT);
  return id;
}

/**
 * Opens the event for every process on every CPU (perf's cpu 0 with pid -1:
 * a BPF program attached to a tracepoint event runs wherever it fires).
 * Returns the perf event's descriptor; the caller owns it.
 */
export function openTracepoint(event: string): number {
  const attr = new Uint8Array(PERF_EVENT_ATTR.size);
  const view = new DataView(attr.buffer);
  view.setUint32(PERF_EVENT_ATTR.type, PERF_TYPE_TRACEPOINT, true);
  view.setUint32(PERF_EVENT_ATTR.sizeField, PERF_EVENT_ATTR.size, true);
  view.setBigUint64(PERF_EVENT_ATTR.config, BigInt(tracepointId(event)), true);
  const fd = Number(
    libc().perf_event_open(SYS.perf_event_open, attr, -1n, 0n, -1n, PERF_FLAG_FD_CLOEXEC),
  );
  if (fd < 0) throw new BpfError(`open tracepoint ${event}`, errno());
  return fd;
}
