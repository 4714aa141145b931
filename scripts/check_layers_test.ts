import assert from "node:assert/strict";
import { layerProblems, placeOf } from "./check_layers.ts";

Deno.test("a module's place is its folder under src/, gen, or the file itself", () => {
  assert.deepEqual(placeOf("src/cli/parser.ts"), "src/cli");
  assert.deepEqual(placeOf("gen/life.ts"), "gen");
  assert.deepEqual(placeOf("src/main.ts"), "src/main.ts");
  assert.deepEqual(placeOf("mod.ts"), "mod.ts");
});

Deno.test("imports down the layers and inside a place without a cycle pass", () => {
  assert.deepEqual(
    layerProblems([
      { from: "mod.ts", to: "src/main.ts" },
      { from: "src/tools/life.ts", to: "src/trace/run.ts" },
      { from: "src/trace/run.ts", to: "src/cli/args.ts" },
      { from: "gen/life.ts", to: "src/c_string.ts" },
      { from: "src/output/format.ts", to: "src/output/column.ts" },
    ]),
    [],
  );
});

Deno.test("an import up the layers is one line naming both files", () => {
  assert.deepEqual(layerProblems([{ from: "src/trace/scope.ts", to: "src/tools/tool.ts" }]), [
    "src/trace/scope.ts -> src/tools/tool.ts: src/trace is below src/tools, so it may not import it",
  ]);
});

Deno.test("siblings do not import each other, and a place no layer holds is named", () => {
  assert.deepEqual(
    layerProblems([
      { from: "src/metrics/textfile.ts", to: "src/trace/scope.ts" },
      { from: "src/states/x.ts", to: "src/ffi/libc.ts" },
    ]),
    [
      "src/metrics/textfile.ts -> src/trace/scope.ts: src/metrics and src/trace are siblings, neither imports the other",
      "src/states/x.ts -> src/ffi/libc.ts: src/states is in no layer (add it to LAYERS)",
    ],
  );
});

Deno.test("every edge of a cycle of files inside one place is a line", () => {
  assert.deepEqual(
    layerProblems([
      { from: "src/output/format.ts", to: "src/output/time_columns.ts" },
      { from: "src/output/time_columns.ts", to: "src/output/printf.ts" },
      { from: "src/output/time_columns.ts", to: "src/output/format.ts" },
    ]),
    [
      "src/output/format.ts -> src/output/time_columns.ts: a cycle of files inside src/output",
      "src/output/time_columns.ts -> src/output/format.ts: a cycle of files inside src/output",
    ],
  );
});
