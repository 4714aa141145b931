/**
 * Test fixtures written by the C side: a small C program that includes
 * bpf/<tool>.h, fills a struct by member name, and prints its bytes (and,
 * for layout checks, each member's offsetof and sizeof as the C compiler
 * laid them out). The decoders are then tested against memory C wrote, not
 * against offsets a test copied from the header.
 *
 * @module
 */
const bpfDir = new URL("../../bpf", import.meta.url).pathname;

/** A member's value: an integer, the bytes of an array, or a C string. */
export type CValue = number | bigint | number[] | string;

function cExpression(member: string, value: CValue): string {
  if (typeof value === "string") {
    return `strncpy(e.${member}, ${JSON.stringify(value)}, sizeof e.${member});`;
  }
  if (Array.isArray(value)) {
    return `memcpy(e.${member}, (unsigned char[]){${value.join(",")}}, ${value.length});`;
  }
  return `e.${member} = ${value}ULL;`;
}

/**
 * Compiles and runs a program that fills `struct <name> e` with `fill`, then
 * prints sizeof(e) as a decimal line, the struct's bytes, and what `after`
 * prints. Returns the bytes and that text.
 */
function runC(
  tool: string,
  name: string,
  fill: string[],
  after: string[] = [],
): { bytes: Uint8Array; text: string } {
  const dir = Deno.makeTempDirSync({ prefix: "tcptools-cstruct-" });
  try {
    const source = `${dir}/fill.c`;
    const binary = `${dir}/fill`;
    Deno.writeTextFileSync(
      source,
      `#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "${tool}.h"
int main(void) {
  struct ${name} e;
  memset(&e, 0, sizeof e);
${fill.map((line) => `  ${line}`).join("\n")}
  printf("%zu\\n", sizeof e);
  fwrite(&e, sizeof e, 1, stdout);
${after.map((line) => `  ${line}`).join("\n")}
  return 0;
}
`,
    );
    const cc = new Deno.Command("gcc", {
      args: ["-Wall", "-Werror", "-I", bpfDir, "-o", binary, source],
    }).outputSync();
    if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
    const run = new Deno.Command(binary).outputSync();
    if (!run.success) throw new Error(`${binary} failed`);
    const newline = run.stdout.indexOf(10);
    const size = Number(new TextDecoder().decode(run.stdout.subarray(0, newline)));
    const bytes = run.stdout.slice(newline + 1, newline + 1 + size);
    return { bytes, text: new TextDecoder().decode(run.stdout.subarray(newline + 1 + size)) };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** `struct <name>` of bpf/<tool>.h with the given members set (the rest zero), as C lays it out. */
export function cStruct(tool: string, name: string, members: Record<string, CValue>): DataView {
  const fill = Object.entries(members)
    .filter(([, value]) => !Array.isArray(value) || value.length > 0)
    .map(([member, value]) => cExpression(member, value));
  const { bytes } = runC(tool, name, fill);
  return new DataView(bytes.buffer);
}

/** Where the C compiler put one member. */
export interface CMember {
  offset: number;
  size: number;
}

/**
 * `struct <name>` with every byte of each listed member set to a pattern of
 * its own (member i, byte j: 16 * (i + 1) + j + 1, never 0), and where C
 * put each member.
 */
export function cPattern(
  tool: string,
  name: string,
  members: string[],
): { record: DataView; layout: Record<string, CMember> } {
  const fill = members.map((member, i) =>
    `for (size_t j = 0; j < sizeof e.${member}; j++) ` +
    `((unsigned char *)&e.${member})[j] = ${16 * (i + 1)} + j + 1;`
  );
  const after = members.map((member) =>
    `printf("%s %zu %zu\\n", "${member}", offsetof(struct ${name}, ${member}), sizeof e.${member});`
  );
  const { bytes, text } = runC(tool, name, fill, after);
  const layout: Record<string, CMember> = {};
  for (const line of text.trim().split("\n")) {
    const [member, offset, size] = line.split(" ");
    layout[member] = { offset: Number(offset), size: Number(size) };
  }
  return { record: new DataView(bytes.buffer), layout };
}
