/**
 * `tcptools help`: the manual a command's user reads on a host without a
 * browser is docs/<command>.md, byte for byte, for every command in the
 * registry (and docs/common.md, what they share), from source and from the
 * built binary alike.
 */
import assert from "node:assert/strict";
import { runTcptools } from "./harness.ts";
import { dirname, fromFileUrl, join } from "./paths.ts";
import { COMMANDS } from "../src/tools/registry.ts";

const docs = join(dirname(fromFileUrl(import.meta.url)), "..", "docs");
/** Every docs/*.md by name, sorted: the manuals the build embeds. */
const manuals = [...Deno.readDirSync(docs)]
  .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
  .map((entry) => entry.name.replace(/\.md$/, ""))
  .sort();

for (const name of new Set([...COMMANDS.map((command) => command.name), ...manuals])) {
  Deno.test(`tcptools help ${name} prints docs/${name}.md as it is`, async () => {
    const manual = await Deno.readTextFile(join(docs, `${name}.md`));
    const { code, stdout, stderr } = await runTcptools(["help", name]);
    assert.equal(stderr, "");
    assert.equal(code, 0);
    assert.equal(stdout, manual);
  });
}

Deno.test("docs/common.md is there for what every command shares", () => {
  assert.ok(manuals.includes("common"), manuals.join(", "));
});

Deno.test("tcptools help alone lists every command, as tcptools --help does", async () => {
  const list = await runTcptools(["help"]);
  const top = await runTcptools(["--help"]);
  assert.equal(list.code, 0);
  assert.equal(list.stderr, "");
  assert.equal(list.stdout, top.stdout);
  for (const { name, summary } of COMMANDS) {
    assert.ok(list.stdout.includes(`\n  ${name.padEnd(9)} ${summary}\n`), name);
  }
  assert.match(list.stdout, /'tcptools help <command>' for its manual, and 'tcptools help common'/);
});

Deno.test("tcptools help with no such command is one usage line, status 2", async () => {
  const names = manuals.join(", ");
  for (const args of [["nosuch"], ["constructor"], ["life", "accept"], ["--bogus"]]) {
    const { code, stdout, stderr } = await runTcptools(["help", ...args]);
    assert.equal(code, 2, args.join(" "));
    assert.equal(stdout, "");
    assert.equal(
      stderr,
      `tcptools help: error: no manual for '${args.join(" ")}' (manuals: ${names})\n`,
    );
  }
});

Deno.test("tcptools <command> --help stays the argparse help, not the manual", async () => {
  for (const { name } of COMMANDS) {
    const { code, stdout } = await runTcptools([name, "--help"]);
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`^usage: tcptools ${name} `));
  }
});
