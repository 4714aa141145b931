/**
 * Reads the addresses a DNS response gives for its question (RFC 1035),
 * the way bcc's tcpconnect -d does with dnslib: only responses (QR set) with
 * exactly one question and with answers or the AA flag; every A and AAAA
 * record of the answer section, whatever its owner name (CNAME chains end in
 * them), maps to the question's name.
 *
 * The bytes come from any UDP datagram from port 53 on the host: every read
 * is bounds-checked, compression pointers must point backwards (so they
 * cannot loop), and a message that breaks a rule ends the reading with what
 * was complete before it (a message cut at 512 bytes keeps its first answers).
 *
 * @module
 */

/** An address a response gave for its question. */
export interface DnsAddress {
  ip: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

/** The question's name and the A/AAAA addresses of the answer section. */
export interface DnsResponse {
  /**
   * In presentation form without the root's trailing dot; `\DDD` escapes as
   * dnslib writes them. The root itself is ".": bcc cuts dnslib's last
   * character, the dot, and prints an empty QUERY, which reads as no name.
   */
  name: string;
  addresses: DnsAddress[];
}

const HEADER = 12;
const TYPE_A = 1;
const TYPE_AAAA = 28;
const MAX_NAME = 255; // wire octets, RFC 1035 2.3.4

/** A read past the message's end, or a malformed name. */
class Malformed extends Error {}

class Reader {
  constructor(readonly bytes: Uint8Array) {}

  u8(at: number): number {
    if (at >= this.bytes.length) throw new Malformed();
    return this.bytes[at];
  }

  u16(at: number): number {
    return (this.u8(at) << 8) | this.u8(at + 1);
  }

  slice(at: number, n: number): Uint8Array {
    if (at + n > this.bytes.length) throw new Malformed();
    return this.bytes.subarray(at, at + n);
  }

  /** The name at `at` as its labels, and the offset just after it where it started. */
  name(at: number): { labels: Uint8Array[]; end: number } {
    const labels: Uint8Array[] = [];
    let end: number | undefined;
    let octets = 1; // the root's zero
    let pos = at;
    for (;;) {
      const len = this.u8(pos);
      if (len === 0) return { labels, end: end ?? pos + 1 };
      if ((len & 0xc0) === 0xc0) {
        const target = ((len & 0x3f) << 8) | this.u8(pos + 1);
        end ??= pos + 2;
        // Strictly backwards: every jump lowers pos, so the loop ends.
        if (target >= pos) throw new Malformed();
        pos = target;
        continue;
      }
      if (len & 0xc0) throw new Malformed(); // 0x40 and 0x80 label types are not in use
      octets += len + 1;
      if (octets > MAX_NAME) throw new Malformed();
      labels.push(this.slice(pos + 1, len));
      pos += len + 1;
    }
  }
}

/** A label's bytes as text: printable ASCII as is, `.` and `\` escaped, other bytes as `\DDD`. */
function labelText(label: Uint8Array): string {
  let text = "";
  for (const b of label) {
    if (b === 0x2e || b === 0x5c) text += "\\" + String.fromCharCode(b);
    else if (b > 0x20 && b < 0x7f) text += String.fromCharCode(b);
    else text += "\\" + String(b).padStart(3, "0");
  }
  return text;
}

/** The response's question name and addresses, or undefined if it is not one bcc would use. */
export function parseDnsResponse(message: Uint8Array): DnsResponse | undefined {
  const r = new Reader(message);
  let name: string;
  let pos: number;
  let answers: number;
  try {
    const flags = r.u16(2);
    const questions = r.u16(4);
    answers = r.u16(6);
    const qr = flags >> 15;
    const aa = (flags >> 10) & 1;
    if (qr !== 1 || questions !== 1 || (answers === 0 && aa === 0)) return undefined;
    const question = r.name(HEADER);
    name = question.labels.length === 0 ? "." : question.labels.map(labelText).join(".");
    pos = question.end + 4; // QTYPE, QCLASS
  } catch (error) {
    if (error instanceof Malformed) return undefined;
    throw error;
  }
  const addresses: DnsAddress[] = [];
  try {
    for (let i = 0; i < answers; i++) {
      pos = r.name(pos).end;
      const type = r.u16(pos);
      const length = r.u16(pos + 8); // after TYPE, CLASS, TTL
      const data = r.slice(pos + 10, length);
      pos += 10 + length;
      if (type === TYPE_A && length === 4) addresses.push({ ip: 4, bytes: data });
      if (type === TYPE_AAAA && length === 16) addresses.push({ ip: 6, bytes: data });
    }
  } catch (error) {
    if (!(error instanceof Malformed)) throw error;
  }
  return { name, addresses };
}
