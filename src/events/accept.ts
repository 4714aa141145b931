/**
 * Decodes `struct accept_event` (bpf/accept.h): one accepted TCP connection.
 *
 * @module
 */
import { decodeAcceptEventRecord } from "../../gen/accept.ts";
import type { Identity } from "./identity.ts";
import { type ConnectionEvent, connectionEvent } from "./record.ts";

/** One connection returned by accept() or accept4(). */
export interface AcceptEvent extends ConnectionEvent {
  /** Kernel monotonic time of the accept's return, µs. */
  tsUs: number;
  /** The listener's accept queue length after this accept, and its limit. */
  backlog: number;
  backlogMax: number;
  /** The accepting task, the socket's network namespace and cookie. */
  identity: Identity;
}

/** Decodes one record; throws on a short record or an unknown address family. */
export function decodeAcceptEvent(record: DataView): AcceptEvent {
  const r = decodeAcceptEventRecord(record);
  return {
    ...connectionEvent("accept_event", r, true),
    backlog: r.backlog,
    backlogMax: r.backlog_max,
  };
}
