import assert from "node:assert/strict";
import { programs } from "../../gen/assets.ts";
import { cPattern } from "./_c_struct.ts";

type Decoder = (view: DataView) => Record<string, number | string | Uint8Array>;

/** `decodeConnectCountKeyRecord` -> `connect_count_key`. */
function structName(decoder: string): string {
  return decoder.slice("decode".length, -"Record".length)
    .replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase());
}

const decoders = await Promise.all(
  Object.keys(programs).map(async (tool) => {
    const module = await import(`../../gen/${tool}.ts`) as Record<string, unknown>;
    return Object.entries(module)
      .filter(([name]) => /^decode\w+Record$/.test(name))
      .map(([name, decode]) => ({
        tool,
        struct: structName(name),
        decode: decode as Decoder,
        size: module[`${name.slice("decode".length)}Size`] as number,
      }));
  }),
);

for (const { tool, struct, decode, size } of decoders.flat()) {
  Deno.test(`the generated decoder of struct ${struct} reads what C wrote into each member`, () => {
    const members = Object.keys(decode(new DataView(new ArrayBuffer(size))));
    const { record, layout } = cPattern(tool, struct, members);
    assert.equal(record.byteLength, size, "sizeof");
    const decoded = decode(record);
    for (const member of members) {
      const { offset, size } = layout[member];
      const bytes = new Uint8Array(record.buffer, offset, size);
      const value = decoded[member];
      if (typeof value === "string") {
        assert.equal(value, new TextDecoder().decode(bytes), member); // no NUL in the pattern
      } else if (value instanceof Uint8Array) {
        assert.deepEqual([...value], [...bytes], member);
      } else {
        const little = bytes.reduceRight((n, b) => n * 256n + BigInt(b), 0n);
        assert.equal(value, Number(little), member);
      }
    }
    assert.throws(() => decode(new DataView(new ArrayBuffer(size - 1))), RangeError);
  });
}
