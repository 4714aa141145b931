import assert from "node:assert/strict";
import { log2Histogram, log2Histograms } from "./histogram.ts";

// Expected rows are bcc's format strings ("%10d -> %-10d : %-8d |%-40s|",
// and "%20d -> %-20d : %-8d |%-20s|" past slot 32) filled in by hand: the
// bars are floor(40 * count / max) stars.

Deno.test("a histogram prints every slot from 0 -> 1 to the last count, bars scaled to the largest", () => {
  // slot 2: 1 (2-3), slot 3: 3 (4-7), slot 5: 2 (16-31)
  assert.deepEqual(log2Histogram([0, 0, 1, 3, 0, 2, 0, 0], "usecs"), [
    "     usecs               : count     distribution",
    "         0 -> 1          : 0        |                                        |",
    "         2 -> 3          : 1        |*************                           |",
    "         4 -> 7          : 3        |****************************************|",
    "         8 -> 15         : 0        |                                        |",
    "        16 -> 31         : 2        |**************************              |",
  ]);
});

Deno.test("a histogram without counts prints nothing, not even its header", () => {
  assert.deepEqual(log2Histogram([], "usecs"), []);
  assert.deepEqual(log2Histogram([0, 0, 0], "msecs"), []);
});

Deno.test("past slot 32 the rows are wider and the bars 20 stars, up to 2^64 - 1", () => {
  const counts = new Array(65).fill(0);
  counts[1] = 5;
  counts[64] = 10;
  const lines = log2Histogram(counts, "bytes");
  assert.equal(lines.length, 65);
  assert.equal(lines[0], "               bytes                         : count     distribution");
  assert.equal(
    lines[1],
    "                   0 -> 1                    : 5        |**********          |",
  );
  assert.equal(
    lines[63],
    " 4611686018427387904 -> 9223372036854775807  : 0        |                    |",
  );
  assert.equal(
    lines[64],
    " 9223372036854775808 -> 18446744073709551615 : 10       |********************|",
  );
});

Deno.test("a count wider than its column pushes the bar right, as printf does", () => {
  assert.deepEqual(log2Histogram([0, 123456789], "usecs"), [
    "     usecs               : count     distribution",
    "         0 -> 1          : 123456789 |****************************************|",
  ]);
});

Deno.test("sections each follow an empty line and their title, with a process name escaped", () => {
  assert.deepEqual(
    log2Histograms([
      { title: "comm = a\nb\x1b[2J", counts: [0, 1] },
      { title: "pid = 181", counts: [0, 0, 2] },
    ], "msecs"),
    [
      "",
      "comm = a\\x0ab\\x1b[2J",
      "     msecs               : count     distribution",
      "         0 -> 1          : 1        |****************************************|",
      "",
      "pid = 181",
      "     msecs               : count     distribution",
      "         0 -> 1          : 0        |                                        |",
      "         2 -> 3          : 2        |****************************************|",
    ],
  );
});
