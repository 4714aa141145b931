/**
 * Decodes `struct connect_dns_answer` (bpf/connect.h): a DNS response a
 * socket received from port 53 to a query it sent, for connect -d. It shares the ring buffer
 * with `struct connect_event`, from which its size tells it apart.
 *
 * @module
 */
import { ConnectDnsAnswerRecordSize, decodeConnectDnsAnswerRecord } from "../../gen/connect.ts";
import { formatAddress } from "../events/address.ts";
import type { DnsScope } from "./cache.ts";
import { parseDnsResponse } from "./message.ts";

/** What one DNS response said: the question's name for each address, as the connect columns print it. */
export interface DnsAnswer {
  kind: "dns";
  /** Kernel monotonic time the socket received it, µs. */
  tsUs: number;
  /** The receiving socket's network namespace and owner. */
  scope: DnsScope;
  /** Undefined when the message is not a response bcc would use. */
  name?: string;
  addresses: string[];
}

/**
 * Whether a record of the connect object's ring buffer is a DNS answer, else
 * a connect_event (bpf/connect.h asserts that their sizes differ).
 */
export function isDnsAnswerRecord(record: DataView): boolean {
  return record.byteLength === ConnectDnsAnswerRecordSize;
}

/** Decodes and parses one record; throws on a short record. */
export function decodeDnsAnswer(record: DataView): DnsAnswer {
  const r = decodeConnectDnsAnswerRecord(record);
  const response = parseDnsResponse(r.payload.subarray(0, Math.min(r.length, r.payload.length)));
  return {
    kind: "dns",
    tsUs: r.ts_us,
    scope: { netns: r.netns, uid: r.uid },
    name: response?.name,
    addresses: response?.addresses.map((a) => formatAddress(a.bytes, a.ip)) ?? [],
  };
}
