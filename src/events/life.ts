/**
 * Decodes `struct life_event` (bpf/life.h): one TCP session at its close.
 *
 * @module
 */
import { decodeLifeEventRecord, LifeControl } from "../../gen/life.ts";
import type { Identity } from "./identity.ts";
import { type ConnectionEvent, connectionEvent } from "./record.ts";

/** One closed TCP session. */
export interface LifeEvent extends ConnectionEvent {
  /** Kernel monotonic time of the close, µs. */
  tsUs: number;
  /** Lifespan, µs. */
  spanUs: number;
  /** Payload bytes received (tcp_sock.bytes_received without the peer's FIN). */
  rxBytes: number;
  /** Payload bytes sent and acknowledged (tcp_sock.bytes_acked without SYN and FIN). */
  txBytes: number;
  /** tcp_sock.bytes_received as the kernel counts it (bcc prints this, in KB). */
  rxCounter: number;
  /** tcp_sock.bytes_acked as the kernel counts it (bcc prints this, in KB). */
  txCounter: number;
  /** The owner when it last acted on the socket (none: PID 0), the socket's network namespace and cookie. */
  identity: Identity;
}

// Which control sequence numbers the counters include (enum life_control).
const { LIFE_TX_SYN, LIFE_TX_FIN, LIFE_RX_FIN } = LifeControl;

/** Decodes one record; throws on a short record or an unknown address family. */
export function decodeLifeEvent(record: DataView): LifeEvent {
  const r = decodeLifeEventRecord(record);
  return {
    // PID 0: no process owned the socket (bpf/life.bpf.c).
    ...connectionEvent("life_event", r, r.pid !== 0),
    spanUs: r.span_us,
    rxBytes: r.rx_bytes - (r.control & LIFE_RX_FIN ? 1 : 0),
    txBytes: r.tx_bytes - (r.control & LIFE_TX_SYN ? 1 : 0) - (r.control & LIFE_TX_FIN ? 1 : 0),
    rxCounter: r.rx_bytes,
    txCounter: r.tx_bytes,
  };
}
