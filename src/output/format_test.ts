import assert from "node:assert/strict";
import { jsonFormat } from "./format.ts";

Deno.test("--json writes a byte of a name that is not UTF-8 as U+FFFD, strict UTF-8", () => {
  const format = jsonFormat((comm: string) => ({ comm }));
  assert.equal(format.line("d\udcffX"), '{"comm":"d\ufffdX"}');
  assert.equal(format.line("d\\udcffX"), '{"comm":"d\\\\udcffX"}');
  assert.equal(format.line("\x1b"), '{"comm":"\\u001b"}');
});
