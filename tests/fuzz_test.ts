/**
 * Generated command lines, valid and invalid, for every subcommand: whatever
 * the input, the result is a usage message (2), help (0) or, for valid flags
 * on a host without BTF (forced with TCPTOOLS_BTF), the one-line environment
 * error (1): never a stack trace, never an internal error.
 *
 * FUZZ_RUNS sets the number of command lines per subcommand (default 60).
 */
import assert from "node:assert/strict";
import { runTcptools } from "./harness.ts";
import { COMMANDS } from "../src/tools/registry.ts";

const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 60);

/** Each subcommand's own option strings, from its parser. */
const FLAGS: Record<string, string[]> = Object.fromEntries(
  COMMANDS.map((command) => [command.name, command.parser().optionStrings()]),
);
const COMMON = [
  "-h",
  "--help",
  "--ring-kb",
  "--ipv4",
  "--ipv6",
  "--bogus",
  "-x",
  "--",
  "-",
  "--ti",
];
const VALUES = [
  "1",
  "80",
  "0",
  "-1",
  "65535",
  "65536",
  "2147483648",
  "4294967295",
  "80,81",
  "80,,81",
  ",",
  "abc",
  "1e3",
  "0x50",
  " 7",
  "",
  "ü",
  "1.5",
  "4",
  "4096",
  "NaN",
  "-p",
  "99999999999999999999",
];

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function argv(tool: string, next: () => number): string[] {
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)];
  const args = [tool];
  const n = Math.floor(next() * 5);
  for (let i = 0; i < n; i++) {
    const r = next();
    if (r < 0.55) args.push(pick(FLAGS[tool]));
    else if (r < 0.7) args.push(pick(COMMON));
    else if (r < 0.9) args.push(pick(VALUES));
    else args.push(pick(FLAGS[tool]) + pick(VALUES)); // attached value: -p181
  }
  return args;
}

for (const tool of Object.keys(FLAGS)) {
  Deno.test(`${RUNS} generated command lines for ${tool} end in 0, 1 or 2 without a trace`, async () => {
    const next = random(tool.length * 7919 + RUNS);
    for (let i = 0; i < RUNS; i++) {
      const args = argv(tool, next);
      const { code, stdout, stderr } = await runTcptools(args, { TCPTOOLS_BTF: "/nonexistent" });
      const what = JSON.stringify(args);
      assert.ok([0, 1, 2].includes(code), `${what}: exit ${code}\n${stderr}`);
      assert.doesNotMatch(stderr, /^\s+at /m, `${what}: stack trace\n${stderr}`);
      assert.doesNotMatch(stderr, /internal error|Uncaught/, `${what}\n${stderr}`);
      if (code === 0) assert.match(stdout, /^usage: tcptools /, what);
      if (code === 1) assert.match(stderr, /^tcptools \w+: no kernel BTF at \/nonexistent/, what);
      if (code === 2) assert.match(stderr, /^usage: tcptools \w+|\n?tcptools \w+: error: /, what);
    }
  });
}
