import assert from "node:assert/strict";
import { ArgumentError, CommandParser, HelpRequested, ValueError } from "./parser.ts";

interface Options {
  time: boolean;
  timestamp: boolean;
  csv: boolean;
  json: boolean;
  pid: number | undefined;
  ring_kb: number;
  minimum: number;
}

function number(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new ValueError(`not a number: '${text}'`);
  return Number(text);
}

function parser(): CommandParser {
  const parser = new CommandParser({
    prog: "demo",
    description: "A demonstration",
    examples: [["demo -p 1", "only PID 1"], ["demo --json", "JSON"]],
  });
  parser.flag(["-T", "--time"], "a time column");
  parser.flag(["-t", "--timestamp"], "a timestamp column");
  const format = parser.exclusiveGroup();
  parser.flag(["-s", "--csv"], "comma separated", format);
  parser.flag(["--json"], "JSON lines", format);
  parser.option(["-p", "--pid"], { parse: number, help: "only this PID" });
  parser.option(["--ring-kb"], { parse: number, default: 1024, metavar: "KB", help: "ring size" });
  parser.positional("minimum", { parse: number, default: 0, help: "smallest to show" });
  return parser;
}

const parse = (...argv: string[]) => parser().parse<Options>(argv);

function error(...argv: string[]): string {
  try {
    parse(...argv);
  } catch (error) {
    if (error instanceof ArgumentError) return error.message;
    throw error;
  }
  throw new Error(`${JSON.stringify(argv)} parsed`);
}

Deno.test("defaults: flags false, options their default or undefined", () => {
  assert.deepEqual(parse(), {
    help: false,
    time: false,
    timestamp: false,
    csv: false,
    json: false,
    pid: undefined,
    ring_kb: 1024,
    minimum: 0,
  });
});

Deno.test("short flags combine and short values attach", () => {
  const combined = parse("-sTt");
  assert.deepEqual([combined.csv, combined.time, combined.timestamp], [true, true, true]);
  for (const argv of [["-p181"], ["-p", "181"], ["-p=181"], ["-tp181"], ["-tp", "181"]]) {
    assert.equal(parse(...argv).pid, 181, argv.join(" "));
  }
});

Deno.test("long options take a separate or attached value, and unique prefixes", () => {
  assert.equal(parse("--pid", "7").pid, 7);
  assert.equal(parse("--pid=7").pid, 7);
  assert.equal(parse("--pi=7").pid, 7);
  assert.equal(parse("--ring", "64").ring_kb, 64);
  assert.equal(parse("--js").json, true);
  assert.equal(parse("--time").time, true, "an exact name wins over a longer one");
  assert.equal(error("--ti"), "ambiguous option: --ti could match --time, --timestamp");
});

Deno.test("the last value given wins", () => {
  assert.equal(parse("-p", "1", "--pid", "2").pid, 2);
});

Deno.test("a positional is taken once, anywhere among the options", () => {
  assert.equal(parse("5", "-t").minimum, 5);
  assert.equal(parse("-t", "5").minimum, 5);
  assert.equal(error("5", "6"), "unrecognized arguments: 6");
  assert.equal(error("x"), "argument minimum: not a number: 'x'");
});

Deno.test("a word starting with - is never a value; -- ends the options", () => {
  assert.equal(error("-p", "-1"), "argument -p/--pid: expected one argument");
  assert.equal(error("-p"), "argument -p/--pid: expected one argument");
  assert.equal(error("--pid"), "argument -p/--pid: expected one argument");
  assert.equal(error("--", "-1"), "argument minimum: not a number: '-1'");
  assert.equal(parse("--", "3").minimum, 3);
  assert.equal(error("-p", "-"), "argument -p/--pid: not a number: '-'", "a lone - is a value");
});

Deno.test("unknown options are collected and reported together", () => {
  assert.equal(error("--bogus", "-x", "-t"), "unrecognized arguments: --bogus -x");
  assert.equal(error("-tx"), "unrecognized arguments: -x");
  assert.equal(error("-t=1"), "argument -t/--timestamp: ignored explicit argument '1'");
  assert.equal(error("--json=1"), "argument --json: ignored explicit argument '1'");
});

Deno.test("a value error names its option", () => {
  assert.equal(error("-p", "abc"), "argument -p/--pid: not a number: 'abc'");
  assert.equal(error("--ring-kb=x"), "argument --ring-kb: not a number: 'x'");
});

Deno.test("members of an exclusive group conflict, each with itself is fine", () => {
  assert.equal(error("-s", "--json"), "argument --json: not allowed with argument -s/--csv");
  assert.equal(error("--json", "-s"), "argument -s/--csv: not allowed with argument --json");
  assert.equal(parse("-s", "-s").csv, true);
});

Deno.test("-h shows the help at once, unless an error comes before it", () => {
  for (const argv of [["-h"], ["--help"], ["-th"], ["--bogus", "-h"], ["--he"]]) {
    assert.throws(() => parse(...argv), HelpRequested, argv.join(" "));
  }
  assert.equal(error("-p", "x", "-h"), "argument -p/--pid: not a number: 'x'");
});

Deno.test("usage and help follow argparse's layout", () => {
  Deno.env.set("COLUMNS", "60");
  try {
    const usage = parser().usage();
    assert.equal(
      usage,
      "usage: demo [-h] [-T] [-t] [-s | --json] [-p PID]\n" +
        "            [--ring-kb KB]\n" +
        "            [minimum]\n",
    );
    let help = "";
    try {
      parse("--help");
    } catch (error) {
      if (error instanceof HelpRequested) help = error.text;
    }
    assert.equal(
      help,
      usage + "\n" +
        "A demonstration\n\n" +
        "positional arguments:\n" +
        "  minimum          smallest to show\n\n" +
        "options:\n" +
        "  -h, --help       show this help message and exit\n" +
        "  -T, --time       a time column\n" +
        "  -t, --timestamp  a timestamp column\n" +
        "  -s, --csv        comma separated\n" +
        "  --json           JSON lines\n" +
        "  -p, --pid PID    only this PID\n" +
        "  --ring-kb KB     ring size\n\n" +
        "examples:\n" +
        "    demo -p 1     # only PID 1\n" +
        "    demo --json   # JSON\n",
    );
    Deno.env.set("COLUMNS", "200");
    assert.equal(parser().usage().split("\n").length, 2, "one line when it fits");
  } finally {
    Deno.env.delete("COLUMNS");
  }
});

Deno.test("with a remainder, every word after -- is the command, options included", () => {
  const parser = new CommandParser({ prog: "t", description: "d", examples: [["t", "x"]] })
    .flag(["-t", "--timestamp"], "ts")
    .remainder("command", { metavar: "CMD", help: "the command" });
  type R = { timestamp: boolean; command?: string[] };
  assert.deepEqual(parser.parse<R>(["-t", "--", "sh", "-c", "exit 3", "--", "-t"]), {
    help: false,
    timestamp: true,
    command: ["sh", "-c", "exit 3", "--", "-t"],
  });
  assert.equal(parser.parse<R>(["-t"]).command, undefined);
  assert.equal(parser.parse<R>(["--"]).command, undefined, "nothing after --: no command");
  assert.match(parser.usage(), /\[-- CMD \.\.\.\]/);
  assert.match(parser.help(), /-- CMD \.\.\. +the command/);
});

Deno.test("an optional value is the next word unless it looks like an option, else the const", () => {
  const kinds = (text: string) => {
    if (!["duration", "bytes"].includes(text)) throw new ValueError(`invalid choice: '${text}'`);
    return text;
  };
  const demo = () =>
    new CommandParser({ prog: "demo", description: "A demonstration", examples: [] })
      .option(["--hist"], { parse: kinds, const: "duration", metavar: "WHAT", help: "counts" })
      .flag(["-m"], "msecs");
  const hist = (...argv: string[]) => demo().parse<{ hist?: string; m: boolean }>(argv);
  assert.equal(hist().hist, undefined);
  assert.equal(hist("--hist").hist, "duration");
  assert.equal(hist("--hist", "bytes").hist, "bytes");
  assert.equal(hist("--hist=bytes").hist, "bytes");
  assert.deepEqual(hist("--hist", "-m"), { help: false, hist: "duration", m: true });
  assert.throws(() => hist("--hist", "other"), /argument --hist: invalid choice: 'other'/);
  assert.match(demo().usage(), /\[--hist \[WHAT\]\]/);
  assert.match(demo().help(), /\n {2}--hist \[WHAT\] +counts\n/);
});
