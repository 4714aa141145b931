/**
 * A command-line parser with the contract of Python's argparse, which is what
 * the bcc tools use and so what their users type and read:
 *
 * - short flags combine (`-stT`) and short values attach (`-p181`, `-p=181`);
 * - long options take `--pid 181` or `--pid=181`, and a unique prefix
 *   (`--ti`) stands for the whole name;
 * - a word starting with `-` is never taken as a value (`-p -1` is missing
 *   its value), `--` ends the options; with a remainder declared, every word
 *   after it is the remainder's (argparse's `nargs=REMAINDER`: a command);
 * - a value can be optional (`--hist`, `--hist bytes`: argparse's
 *   `nargs="?"` with a `const`, the value when none follows);
 * - flags of an exclusive group conflict (`-4 -6`);
 * - a usage error is the usage, then `<prog>: error: <message>`, exit 2;
 *   `-h`/`--help` prints the help to stdout and exits 0.
 *
 * Written here rather than taken from npm: the argparse port is CommonJS and
 * loads Deno's Node compatibility layer at startup, which doubled the time to
 * attach (~140 ms with it, ~70 without, BENCHMARKS.md). This file imports
 * nothing.
 *
 * @module
 */

/** Thrown by a value parser: the reason its text is not a valid value. */
export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValueError";
  }
}

/** Bad arguments to a subcommand: print `usage`, then the message; exit 2. */
export class ArgumentError extends Error {
  constructor(message: string, readonly usage: string) {
    super(message);
    this.name = "ArgumentError";
  }
}

/** `-h`/`--help` was given: print `text` to stdout and exit 0. */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super("help requested");
    this.name = "HelpRequested";
  }
}

interface Argument {
  /** Key in the parsed result. */
  dest: string;
  /** Option strings, short first ("-p", "--pid"); empty for a positional. */
  names: string[];
  help: string;
  /** Turns the text into the value; absent for a flag (which stores true). */
  parse?: (text: string) => unknown;
  metavar: string;
  default: unknown;
  /** Its value when given without one, if the value is optional. */
  const?: unknown;
  /** Index of its exclusive group, if any. */
  group?: number;
}

/** Options for {@linkcode CommandParser}. */
export interface CommandOptions {
  /** e.g. "tcptools life". */
  prog: string;
  description: string;
  /** [command, what it does] pairs, printed under "examples:" in --help. */
  examples: [string, string][];
}

/** How an option that takes a value is declared. */
export interface ValueOptions<T> {
  parse: (text: string) => T;
  help: string;
  /** Shown for the value in usage and help (default: the long name in capitals). */
  metavar?: string;
  default?: T;
  /** The value when the option is given without one: the value is then optional. */
  const?: T;
}

const HELP: Argument = {
  dest: "help",
  names: ["-h", "--help"],
  help: "show this help message and exit",
  metavar: "",
  default: false,
};

/** Declares a subcommand's arguments, parses argv, and formats usage and help. */
export class CommandParser {
  readonly #options: Argument[] = [HELP];
  readonly #positionals: Argument[] = [];
  #remainder: Argument | undefined;
  #groups = 0;

  constructor(readonly command: CommandOptions) {}

  /** A flag: false unless given. */
  flag(names: string[], help: string, group?: number): this {
    this.#options.push({ dest: destOf(names), names, help, metavar: "", default: false, group });
    return this;
  }

  /** An option with a value, checked and converted by `parse`. */
  option<T>(names: string[], spec: ValueOptions<T>, group?: number): this {
    const dest = destOf(names);
    this.#options.push({
      dest,
      names,
      help: spec.help,
      parse: spec.parse,
      metavar: spec.metavar ?? dest.toUpperCase(),
      default: spec.default,
      const: spec.const,
      group,
    });
    return this;
  }

  /** An optional positional argument (argparse's `nargs="?"`). */
  positional<T>(name: string, spec: ValueOptions<T>): this {
    this.#positionals.push({
      dest: name,
      names: [],
      help: spec.help,
      parse: spec.parse,
      metavar: spec.metavar ?? name,
      default: spec.default,
    });
    return this;
  }

  /**
   * The words after `--`, as a list (undefined when there are none): e.g. a
   * command to run. Shown as `[-- METAVAR ...]`.
   */
  remainder(name: string, spec: { metavar: string; help: string }): this {
    this.#remainder = {
      dest: name,
      names: [],
      help: spec.help,
      metavar: `-- ${spec.metavar} ...`,
      default: undefined,
    };
    return this;
  }

  /** Every option string declared, e.g. "-p" and "--pid" (for generated command lines). */
  optionStrings(): string[] {
    return this.#options.flatMap((arg) => arg.names);
  }

  /** How the argument stored in `dest` is named in error messages, e.g. "-p/--pid". */
  displayName(dest: string): string {
    const arg = [...this.#options, ...this.#positionals].find((a) => a.dest === dest);
    if (arg === undefined) throw new Error(`no argument ${dest}`);
    return display(arg);
  }

  /** Flags declared with the returned group number exclude each other. */
  exclusiveGroup(): number {
    return this.#groups++;
  }

  /**
   * Parses `argv` into an object keyed by each argument's dest, which `T`
   * names (the long option with `-` as `_`); throws
   * {@linkcode ArgumentError} or {@linkcode HelpRequested}.
   */
  parse<T>(argv: string[]): T {
    const values: Record<string, unknown> = {};
    for (const arg of [...this.#options, ...this.#positionals]) values[arg.dest] = arg.default;
    if (this.#remainder) values[this.#remainder.dest] = undefined;
    const given = new Map<number, Argument>();
    const unrecognized: string[] = [];
    const positionals = [...this.#positionals];
    const fail = (message: string) => this.#fail(message);
    const store = (arg: Argument, text: string | undefined) => {
      if (arg === HELP) throw new HelpRequested(this.help());
      if (arg.group !== undefined) {
        const other = given.get(arg.group);
        if (other !== undefined && other !== arg) {
          fail(`argument ${display(arg)}: not allowed with argument ${display(other)}`);
        }
        given.set(arg.group, arg);
      }
      if (arg.parse === undefined) {
        values[arg.dest] = true;
        return;
      }
      if (text === undefined && arg.const !== undefined) {
        values[arg.dest] = arg.const;
        return;
      }
      if (text === undefined) return fail(`argument ${display(arg)}: expected one argument`);
      try {
        values[arg.dest] = arg.parse(text);
      } catch (error) {
        if (!(error instanceof ValueError)) throw error;
        fail(`argument ${display(arg)}: ${error.message}`);
      }
    };

    let i = 0;
    // The next word as a value, unless it looks like an option.
    const nextValue = () => {
      const next = argv[i + 1];
      if (next === undefined || this.#isOption(next)) return undefined;
      i++;
      return next;
    };
    let optionsEnded = false;
    for (; i < argv.length; i++) {
      const word = argv[i];
      if (!optionsEnded && word === "--" && this.#remainder) {
        const rest = argv.slice(i + 1);
        values[this.#remainder.dest] = rest.length > 0 ? rest : undefined;
        break;
      } else if (!optionsEnded && word === "--") {
        optionsEnded = true;
        // As argparse, "--" is only taken by a parser with positionals.
        if (this.#positionals.length === 0) unrecognized.push(word);
      } else if (optionsEnded || !this.#isOption(word)) {
        const positional = positionals.shift();
        if (positional === undefined) unrecognized.push(word);
        else store(positional, word);
      } else if (word.startsWith("--")) {
        const equals = word.indexOf("=");
        const name = equals < 0 ? word : word.slice(0, equals);
        const attached = equals < 0 ? undefined : word.slice(equals + 1);
        const arg = this.#long(name, word);
        if (arg === undefined) unrecognized.push(word);
        else if (arg.parse === undefined && attached !== undefined) {
          fail(`argument ${display(arg)}: ignored explicit argument '${attached}'`);
        } else store(arg, attached ?? (arg.parse ? nextValue() : undefined));
      } else {
        // One or more short options in one word: -stT, -p181, -tp 181.
        let previous: Argument | undefined;
        for (let at = 1; at < word.length; at++) {
          const arg = this.#options.find((option) => option.names.includes(`-${word[at]}`));
          if (arg === undefined) {
            const rest = word.slice(at);
            if (previous === undefined) unrecognized.push(word);
            else if (/^[-=]/.test(rest)) {
              // "-s=1", "-s-x": a value given to a flag
              const value = rest.replace(/^=/, "");
              fail(`argument ${display(previous)}: ignored explicit argument '${value}'`);
            } else unrecognized.push(`-${rest}`); // "-L80": -L, then the unknown "-80"
            break;
          }
          if (arg.parse !== undefined) {
            const rest = word.slice(at + 1).replace(/^=/, "");
            store(arg, rest !== "" ? rest : nextValue());
            break;
          }
          store(arg, undefined);
          previous = arg;
        }
      }
    }
    if (unrecognized.length > 0) fail(`unrecognized arguments: ${unrecognized.join(" ")}`);
    return values as T;
  }

  /**
   * Whether a word is read as an option rather than a value: it starts with
   * `-` and is not `-` itself. As argparse, a word with a space in it is a
   * value unless it begins with a known option ("-p 2", "--pid=1 2").
   */
  #isOption(word: string): boolean {
    if (!word.startsWith("-") || word === "-") return false;
    if (!word.includes(" ")) return true;
    if (!word.startsWith("--")) {
      return this.#options.some((o) => o.names.includes(word.slice(0, 2)));
    }
    return word.includes("=") && this.#long(word.split("=", 1)[0], word) !== undefined;
  }

  /** The long option `name` is, or uniquely begins; undefined if none. */
  #long(name: string, word: string): Argument | undefined {
    const exact = this.#options.find((arg) => arg.names.includes(name));
    if (exact !== undefined) return exact;
    const matches = this.#options.flatMap((arg) =>
      arg.names.filter((option) => option.startsWith("--") && option.startsWith(name))
        .map((option) => ({ arg, option }))
    );
    if (matches.length > 1) {
      this.#fail(
        `ambiguous option: ${word} could match ${matches.map((m) => m.option).join(", ")}`,
      );
    }
    return matches[0]?.arg;
  }

  #remainderList(): Argument[] {
    return this.#remainder ? [this.#remainder] : [];
  }

  /** A usage error: the message, with this parser's usage to print before it. */
  #fail(message: string): never {
    throw new ArgumentError(message, this.usage());
  }

  /** "usage: prog [-h] ..." wrapped to the terminal, with a final newline. */
  usage(): string {
    const width = textWidth();
    const optionParts: string[] = [];
    let group: number | undefined;
    for (const arg of this.#options) {
      const part = usagePart(arg);
      if (arg.group !== undefined && arg.group === group) {
        optionParts[optionParts.length - 1] = optionParts.at(-1)!.replace(/]$/, ` | ${part}]`);
      } else optionParts.push(`[${part}]`);
      group = arg.group;
    }
    const positionalParts = [...this.#positionals, ...this.#remainderList()].map((arg) =>
      `[${arg.metavar}]`
    );
    const prefix = `usage: ${this.command.prog} `;
    const all = [...optionParts, ...positionalParts].join(" ");
    if (prefix.length + all.length <= width) return `${prefix}${all}\n`;
    // As argparse: options wrap under the first one, positionals start a line.
    const indent = " ".repeat(prefix.length);
    const lines = [
      ...fill(optionParts, width - prefix.length),
      ...fill(positionalParts, width - prefix.length),
    ];
    return `${prefix}${lines.join(`\n${indent}`)}\n`;
  }

  /** The whole --help text. */
  help(): string {
    const width = textWidth();
    const rows = (args: Argument[]) =>
      args.map((arg) => ({ invocation: invocation(arg), help: arg.help }));
    const sections: [string, { invocation: string; help: string }[]][] = [
      ["positional arguments", rows([...this.#positionals, ...this.#remainderList()])],
      ["options", rows(this.#options)],
    ];
    const longest = Math.max(...sections.flatMap(([, r]) => r.map((row) => row.invocation.length)));
    // Help text starts in one column for all rows, at most 24 in.
    const column = Math.min(longest + 4, Math.min(24, Math.max(width - 20, 4)));
    const { description, examples } = this.command;
    let text = `${this.usage()}\n${description}\n`;
    for (const [title, entries] of sections) {
      if (entries.length === 0) continue;
      text += `\n${title}:\n`;
      for (const { invocation, help } of entries) {
        const wrapped = fill(help.split(" "), Math.max(width - column, 11));
        const head = `  ${invocation}`;
        if (head.length + 2 <= column) {
          text += `${head.padEnd(column)}${wrapped[0]}\n`;
          wrapped.shift();
        } else text += `${head}\n`;
        for (const line of wrapped) text += `${" ".repeat(column)}${line}\n`;
      }
    }
    const exampleWidth = Math.max(...examples.map(([command]) => command.length));
    text += "\nexamples:\n";
    for (const [command, what] of examples) {
      text += `    ${command.padEnd(exampleWidth)}   # ${what}\n`;
    }
    return text;
  }
}

/** The result key for an option: its long name with `-` as `_` (--ring-kb: ring_kb). */
function destOf(names: string[]): string {
  const long = names.find((name) => name.startsWith("--")) ?? names[0];
  return long.replace(/^-+/, "").replaceAll("-", "_");
}

/** "-p/--pid" in error messages, the name for a positional. */
function display(arg: Argument): string {
  return arg.names.length > 0 ? arg.names.join("/") : arg.dest;
}

/** "PID", or "[KIND]" for an optional value. */
function valueOf(arg: Argument): string {
  return arg.const === undefined ? arg.metavar : `[${arg.metavar}]`;
}

/** "-p PID" or "--json" in the usage line: the first name. */
function usagePart(arg: Argument): string {
  return arg.parse === undefined ? arg.names[0] : `${arg.names[0]} ${valueOf(arg)}`;
}

/** "-p, --pid PID" in the help. */
function invocation(arg: Argument): string {
  if (arg.names.length === 0) return arg.metavar;
  const names = arg.names.join(", ");
  return arg.parse === undefined ? names : `${names} ${valueOf(arg)}`;
}

/** Words joined by spaces into lines of at most `width` (a longer word gets its own line). */
function fill(words: string[], width: number): string[] {
  const lines: string[] = [];
  for (const word of words) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** Columns for usage and help: $COLUMNS, else the terminal's, else 80; less 2, as argparse. */
function textWidth(): number {
  const columns = Number(Deno.env.get("COLUMNS"));
  if (Number.isInteger(columns) && columns > 0) return columns - 2;
  try {
    // A pseudo-terminal nobody sized (script(1), some CI runners) has 0 columns.
    const terminal = Deno.stdout.isTerminal() ? Deno.consoleSize().columns : 0;
    if (terminal > 0) return terminal - 2;
  } catch {
    // no terminal after all: the default below
  }
  return 78;
}
