// What a worker (or a child process) reports with each batch, from the code
// that runs batches in both.

import assert from "node:assert/strict";
import { runBatch } from "../src/exec/_run_batch.ts";
import type { RunMessage } from "../src/exec/_protocol.ts";

const hooks = { running() {}, loaded() {}, withdrawn: () => false, dying: () => false };

function batch(ids: number[]): RunMessage {
  return {
    type: "run",
    module: new URL("./fixtures/kernels.ts", import.meta.url).href,
    exportName: "square",
    ids,
    inputs: ids,
    spread: false,
  };
}

Deno.test("a batch's report says how long its worker waited for it since the batch before", async () => {
  const first = await runBatch(batch([1, 2]), hooks);
  assert.deepEqual(first?.done.values, [1, 4]);
  assert.equal(first?.done.idle, 0, "nothing ran before the first batch");
  const waiting = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 30));
  const waited = performance.now() - waiting;
  const second = await runBatch(batch([3]), hooks);
  assert.deepEqual(second?.done.values, [9]);
  assert.ok(
    second!.done.idle >= waited,
    `idle ${second!.done.idle} ms after a wait of ${waited} ms`,
  );
});
