import assert from "node:assert/strict";
import { formatAddress } from "./address.ts";

const AF_INET = 2;
const AF_INET6 = 10;

/** Builds IPv6 bytes (network order) from eight 16-bit groups. */
function fromGroups(...groups: number[]): Uint8Array {
  assert.equal(groups.length, 8);
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = groups[i] >> 8;
    bytes[2 * i + 1] = groups[i] & 0xff;
  }
  return bytes;
}

/** Formats eight groups as IPv6. */
function v6(...groups: number[]): string {
  return formatAddress(fromGroups(...groups), 6);
}

Deno.test("IPv4 addresses print as dotted quads", () => {
  assert.equal(formatAddress(new Uint8Array([127, 0, 0, 1]), 4), "127.0.0.1");
  assert.equal(formatAddress(new Uint8Array([0, 0, 0, 0]), 4), "0.0.0.0");
  assert.equal(formatAddress(new Uint8Array([255, 255, 255, 255]), 4), "255.255.255.255");
  assert.equal(formatAddress(new Uint8Array([10, 20, 30, 40]), 4), "10.20.30.40");
});

Deno.test("only the first 4 or 16 bytes of a longer array are read", () => {
  const long = new Uint8Array(16);
  long.set([192, 168, 1, 2, 9, 9, 9, 9]);
  assert.equal(formatAddress(long, 4), "192.168.1.2");
  const longer = new Uint8Array(20).fill(0xff);
  longer.set(fromGroups(0xfe80, 0, 0, 0, 0, 0, 0, 1));
  assert.equal(formatAddress(longer, 6), "fe80::1");
});

Deno.test("too short arrays are rejected", () => {
  assert.throws(() => formatAddress(new Uint8Array(3), 4), RangeError);
  assert.throws(() => formatAddress(new Uint8Array(15), 6), RangeError);
});

Deno.test("IPv6 groups print in lowercase hex without leading zeros", () => {
  assert.equal(v6(0xfe80, 0, 0, 0, 0x08a3, 0x9dff, 0xfed5, 0x6b19), "fe80::8a3:9dff:fed5:6b19");
  assert.equal(
    v6(0x2001, 0x0db8, 0x85a3, 0x0001, 0x0010, 0x0100, 0xabcd, 0xffff),
    "2001:db8:85a3:1:10:100:abcd:ffff",
  );
});

Deno.test("a single zero group prints as 0, not ::", () => {
  assert.equal(v6(1, 0, 2, 0, 3, 0, 4, 0), "1:0:2:0:3:0:4:0");
  assert.equal(v6(0, 1, 2, 3, 4, 5, 6, 7), "0:1:2:3:4:5:6:7");
  assert.equal(v6(1, 2, 3, 4, 5, 6, 7, 0), "1:2:3:4:5:6:7:0");
});

Deno.test("the longest zero run becomes ::, the first one when runs tie", () => {
  assert.equal(v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), "2001:db8::1:0:0:1");
  assert.equal(v6(1, 0, 0, 2, 0, 0, 0, 3), "1:0:0:2::3");
  assert.equal(v6(1, 0, 0, 0, 2, 0, 0, 0), "1::2:0:0:0");
  assert.equal(v6(0, 0, 1, 0, 0, 0, 0, 0), "0:0:1::");
  assert.equal(v6(0, 0, 1, 2, 3, 4, 0, 0), "::1:2:3:4:0:0");
  assert.equal(v6(1, 2, 3, 4, 5, 6, 0, 0), "1:2:3:4:5:6::");
  assert.equal(v6(1, 0, 0, 0, 0, 0, 0, 0), "1::");
  assert.equal(v6(1, 0, 0, 0, 0, 0, 0, 2), "1::2");
});

Deno.test("all-zero and loopback addresses print as :: and ::1", () => {
  assert.equal(v6(0, 0, 0, 0, 0, 0, 0, 0), "::");
  assert.equal(v6(0, 0, 0, 0, 0, 0, 0, 1), "::1");
  assert.equal(v6(0, 0, 0, 0, 0, 0, 0, 2), "::2");
  assert.equal(v6(0, 0, 0, 0, 0, 0, 0, 0xffff), "::ffff");
});

Deno.test("IPv4-compatible addresses end in a dotted quad", () => {
  assert.equal(v6(0, 0, 0, 0, 0, 0, 1, 0), "::0.1.0.0");
  assert.equal(v6(0, 0, 0, 0, 0, 0, 0x0102, 0x0304), "::1.2.3.4");
  assert.equal(v6(0, 0, 0, 0, 0, 0, 0xffff, 0xffff), "::255.255.255.255");
});

Deno.test("IPv4-mapped addresses print as ::ffff:a.b.c.d", () => {
  assert.equal(v6(0, 0, 0, 0, 0, 0xffff, 0x7f00, 0x0001), "::ffff:127.0.0.1");
  assert.equal(v6(0, 0, 0, 0, 0, 0xffff, 0, 0), "::ffff:0.0.0.0");
  assert.equal(v6(0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001), "::ffff:10.0.0.1");
});

Deno.test("near misses of the IPv4 forms print as plain IPv6", () => {
  assert.equal(v6(0, 0, 0, 0, 0xffff, 0, 0x0102, 0x0304), "::ffff:0:102:304");
  assert.equal(v6(0, 0, 0, 0, 0, 0xfffe, 0x0102, 0x0304), "::fffe:102:304");
  assert.equal(v6(0, 0, 0, 0, 1, 0xffff, 0x0102, 0x0304), "::1:ffff:102:304");
  assert.equal(v6(1, 0, 0, 0, 0, 0, 0x0102, 0x0304), "1::102:304");
  assert.equal(v6(0, 0, 0, 0, 0, 1, 0x0102, 0x0304), "::1:102:304");
});

/** The real glibc `inet_ntop`. */
function openInetNtop() {
  const lib = Deno.dlopen("libc.so.6", {
    inet_ntop: { parameters: ["i32", "buffer", "buffer", "u32"], result: "pointer" },
  });
  const output = new Uint8Array(64);
  const decoder = new TextDecoder();
  const inetNtop = (family: number, bytes: Uint8Array): string => {
    const result = lib.symbols.inet_ntop(family, bytes, output, output.length);
    assert.notEqual(result, null, "inet_ntop failed");
    return decoder.decode(output.subarray(0, output.indexOf(0)));
  };
  return { inetNtop, close: () => lib.close() };
}

/** A random 16-bit group that is zero half of the time. */
function randomGroup(): number {
  if (Math.random() < 0.5) return 0;
  // Favour short groups as well as full-width ones.
  return Math.floor(Math.random() * (Math.random() < 0.5 ? 0x100 : 0x10000));
}

Deno.test("IPv6 output matches glibc inet_ntop for structured and random addresses", () => {
  const { inetNtop, close } = openInetNtop();
  try {
    const check = (bytes: Uint8Array) => {
      assert.equal(formatAddress(bytes, 6), inetNtop(AF_INET6, bytes), `${bytes}`);
    };
    // Every pattern of zero and non-zero groups, with a few non-zero values.
    for (let mask = 0; mask < 256; mask++) {
      for (const value of [1, 0xffff, 0x1234, 0x00ab]) {
        const groups = [];
        for (let i = 0; i < 8; i++) groups.push(mask & (1 << i) ? value : 0);
        check(fromGroups(...groups));
        // The same pattern with 0xffff in group 5, for the IPv4-mapped form.
        groups[5] = 0xffff;
        check(fromGroups(...groups));
      }
    }
    for (let n = 0; n < 5000; n++) {
      const groups = [];
      for (let i = 0; i < 8; i++) groups.push(randomGroup());
      check(fromGroups(...groups));
      // The special prefixes: ::a.b.c.d, ::ffff:a.b.c.d and near misses.
      const tail = [randomGroup(), randomGroup()];
      check(fromGroups(0, 0, 0, 0, 0, 0, ...tail));
      check(fromGroups(0, 0, 0, 0, 0, 0xffff, ...tail));
      check(fromGroups(0, 0, 0, 0, randomGroup(), randomGroup(), ...tail));
      check(fromGroups(0, 0, 0, 0, 0, randomGroup(), ...tail));
    }
  } finally {
    close();
  }
});

Deno.test("IPv4 output matches glibc inet_ntop for random addresses", () => {
  const { inetNtop, close } = openInetNtop();
  try {
    const bytes = new Uint8Array(4);
    for (let n = 0; n < 2000; n++) {
      crypto.getRandomValues(bytes);
      if (n % 4 === 0) bytes[n % 16 >> 2] = 0;
      assert.equal(formatAddress(bytes, 4), inetNtop(AF_INET, bytes));
    }
  } finally {
    close();
  }
});
