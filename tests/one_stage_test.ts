// A kernel on a pool becomes a stage through one implementation, whichever
// front-end asked for it: the same default concurrency, the same failure
// policy, the same hooks.

import assert from "node:assert/strict";
import { kernel, kernelStage, PipelineBuilder, PipelineFailure, WorkerPool } from "../mod.ts";
import type * as k from "./fixtures/kernels.ts";

const FIXTURE = new URL("./fixtures/kernels.ts", import.meta.url);
const inside = kernel<typeof k.inside>(FIXTURE, "inside");
const square = kernel<typeof k.square>(FIXTURE, "square");

// Four slow calls that each wait (up to the gauge's patience) until four
// are inside at once; `cells[1]` is the most that were.
function fourSlowCalls(): { cells: Int32Array; inputs: Parameters<typeof k.inside>[0][] } {
  const cells = new Int32Array(new SharedArrayBuffer(8));
  return { cells, inputs: [0, 1, 2, 3].map(() => ({ cells, ms: 5, until: 4 })) };
}

Deno.test("pipe(kernel, { executor: pool of 4 }) without concurrency keeps the 4 workers busy", async () => {
  await using pool = new WorkerPool({ size: 4 });
  const { cells, inputs } = fourSlowCalls();
  await using pipeline = new PipelineBuilder()
    .addSource(inputs)
    .pipe(inside, { executor: pool })
    .addSink()
    .build();
  assert.equal((await Array.fromAsync(pipeline)).length, 4);
  assert.equal(Atomics.load(cells, 1), 4, "four calls ran at once");
  const [stage] = pipeline.stats().stages;
  assert.equal(stage!.concurrency, 4, "its statistics count the pool's workers");
});

Deno.test("pool.map, kernelStage and pipe share the adaptive default", async () => {
  await using pool = new WorkerPool({ size: 4 });
  for (const stage of [() => pool.map(inside), () => kernelStage(inside, pool)]) {
    const { cells, inputs } = fourSlowCalls();
    const out = await Array.fromAsync(ReadableStream.from(inputs).pipeThrough(stage()));
    assert.equal(out.length, 4);
    assert.equal(Atomics.load(cells, 1), 4);
  }
});

Deno.test("a given concurrency bounds the kernel stage on every front-end", async () => {
  await using pool = new WorkerPool({ size: 4 });
  const cells = new Int32Array(new SharedArrayBuffer(8));
  // Each call spins 20 ms: on 4 workers without the bound they would overlap.
  const inputs = [0, 1, 2].map(() => ({ cells, ms: 20, until: 1 }));
  await using pipeline = new PipelineBuilder()
    .addSource(inputs)
    .pipe(inside, { executor: pool, concurrency: 1 })
    .addSink()
    .build();
  assert.equal((await Array.fromAsync(pipeline)).length, 3);
  assert.equal(Atomics.load(cells, 1), 1, "one call at a time");
});

Deno.test("kernelStage on main runs the kernel on the event loop, named after its export", async () => {
  const stage = kernelStage(square, "main", { concurrency: 2 });
  assert.equal(stage.name, "square");
  const out = await Array.fromAsync(ReadableStream.from([1, 2, 3]).pipeThrough(stage));
  assert.deepEqual(out, [1, 4, 9]);
  assert.throws(
    () => kernelStage(square, "workers" as never),
    /executor must be "main" or a pool, got "workers"/,
  );
  assert.throws(
    () => kernelStage(square, "main", { concurency: 2 } as never),
    (e) =>
      e instanceof TypeError &&
      /kernel stage: unknown option "concurency" \(did you mean concurrency\?\)/.test(e.message),
  );
});

Deno.test("a pipe stage's failures are counted once, by the stage, and listed by the pipeline", async () => {
  const fails = (x: number) => {
    if (x % 2 === 1) throw new Error(`odd ${x}`);
    return x;
  };
  await using tolerant = new PipelineBuilder()
    .addSource([0, 1, 2, 3, 4])
    .pipe(fails, { maxFailures: 2, outputOrder: "input" })
    .addSink()
    .build();
  assert.deepEqual(await Array.fromAsync(tolerant), [0, 2, 4]);
  assert.equal(tolerant.stats().stages[0]!.failures, 2);

  await using strict = new PipelineBuilder()
    .addSource([0, 1, 2, 3, 4, 5])
    .pipe(fails, { maxFailures: 1, name: "fails", outputOrder: "input" })
    .addSink()
    .build();
  const error = await Array.fromAsync(strict).then(() => undefined, (e) => e);
  assert(error instanceof PipelineFailure, String(error));
  assert.deepEqual(error.errors.map((e) => e.index), [1, 3]);
  assert.match(error.message, /stage "fails" had more than 1 failed item/);
  assert.equal(strict.stats().stages[0]!.failures, 2);
});
