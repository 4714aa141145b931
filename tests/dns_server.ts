/**
 * A DNS server for the end-to-end tests: answers A and AAAA questions for
 * the names it is given, and NXDOMAIN for others, over UDP. Run inside the
 * test's network namespace on 127.0.0.1:53, it is the resolver the
 * namespace's /etc/resolv.conf names, so a client that resolves a name
 * (getaddrinfo) gets the test's own answers.
 *
 *   dns_server.ts --names '{"www.tt.test":["10.9.9.4","fd00::4"]}' [--unsolicited]
 *
 * Prints {"port":53} once bound, then {"name":N,"type":T} per question.
 * With --unsolicited it first sends, from port 53, its A and AAAA answers
 * for every name to a socket of its own that asked nothing (what a forger
 * does), and prints {"unsolicited":N} once that socket received all N.
 * Answers carry their owner name as a compression pointer to the question.
 *
 * @module
 */
import dgram from "node:dgram";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    names: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    unsolicited: { type: "boolean", default: false },
  },
});
const names: Record<string, string[]> = JSON.parse(values.names!);

const TYPE_A = 1;
const TYPE_AAAA = 28;

function ipv4(text: string): number[] {
  return text.split(".").map(Number);
}

function ipv6(text: string): number[] {
  const [head, tail] = text.split("::");
  const groups = (s: string | undefined) => s ? s.split(":").map((g) => parseInt(g, 16)) : [];
  const h = groups(head);
  const t = groups(tail);
  const all = [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** The question's name and where the question ends. */
function question(query: Uint8Array): { name: string; end: number } {
  const labels: string[] = [];
  let pos = 12;
  while (query[pos] !== 0) {
    labels.push(new TextDecoder().decode(query.subarray(pos + 1, pos + 1 + query[pos])));
    pos += query[pos] + 1;
  }
  return { name: labels.join("."), end: pos + 5 };
}

function answer(query: Uint8Array): Uint8Array {
  const { name, end } = question(query);
  const type = (query[end - 4] << 8) | query[end - 3];
  const known = names[name.toLowerCase()];
  const addresses = (known ?? []).filter((a) => a.includes(":") === (type === TYPE_AAAA));
  const records = type === TYPE_A || type === TYPE_AAAA
    ? addresses.map((a) => {
      const data = type === TYPE_A ? ipv4(a) : ipv6(a);
      return [0xc0, 12, 0, type, 0, 1, 0, 0, 0, 60, 0, data.length, ...data];
    })
    : [];
  console.log(JSON.stringify({ name, type }));
  return new Uint8Array([
    query[0],
    query[1],
    0x81 | (query[2] & 0x01), // QR, opcode 0, RD copied
    known ? 0x80 : 0x83, // RA; NXDOMAIN for unknown names
    0,
    1,
    0,
    records.length,
    0,
    0,
    0,
    0,
    ...query.subarray(12, end),
    ...records.flat(),
  ]);
}

/** A recursive query for `name` of `type`, as a stub resolver sends it. */
function query(name: string, type: number): Uint8Array {
  const labels = name.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]);
  return new Uint8Array([0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, type, 0, 1]);
}

/** Sends the answers nobody asked for; resolves once they all arrived. */
function sendUnsolicited(): Promise<number> {
  const forged = Object.keys(names).flatMap((name) =>
    [TYPE_A, TYPE_AAAA].map((t) => query(name, t))
  );
  const target = dgram.createSocket("udp4");
  return new Promise((resolve) => {
    let received = 0;
    target.on("message", () => {
      if (++received === forged.length) {
        target.close();
        resolve(received);
      }
    });
    target.bind(0, values.host, () => {
      for (const q of forged) socket.send(answer(q), target.address().port, values.host);
    });
  });
}

const socket = dgram.createSocket("udp4");
socket.on("message", (query, from) => {
  socket.send(answer(new Uint8Array(query)), from.port, from.address);
});
socket.bind(53, values.host, async () => {
  if (values.unsolicited) console.log(JSON.stringify({ unsolicited: await sendUnsolicited() }));
  console.log(JSON.stringify({ port: 53 }));
});
