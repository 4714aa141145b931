import assert from "node:assert/strict";
import { TimeColumns } from "./time_columns.ts";

Deno.test("a stamp a few µs older than the line before it takes that line's time", () => {
  const clock = new TimeColumns();
  assert.deepEqual(
    [1_000_000, 1_000_010, 1_000_004, 2_500_000].map((us) => clock.relativeSeconds(us)),
    [0, 0.00001, 0.00001, 1.5],
  );
  const iso = new TimeColumns(1_795_000_000_000_000);
  assert.deepEqual([20, 7, 21].map((us) => iso.isoTime(us)), [
    "2026-11-18T11:06:40.000020Z",
    "2026-11-18T11:06:40.000020Z",
    "2026-11-18T11:06:40.000021Z",
  ]);
});
