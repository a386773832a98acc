/**
 * A batch pipeline (batchflow's model) whose action is CPU-bound and runs on
 * workers (`@inbatchParallel` with `target: "workers"`, one kernel call per
 * batch, about 1 ms per item), with `prefetch` 0 against 2, in one run: the
 * speedup of running batches side by side.
 *
 * Both sides run the same batches on one pool of workers (as many as the
 * cores, the size of a run's own pool), started and warmed before the timed
 * rounds: every worker has loaded the kernel's module and compiled the
 * kernel. The rounds alternate between the sides, and each side's best round
 * counts. Every batch's result is checked. A last line gives the figure with
 * each run's own pools instead, which counts their start (workers, module
 * loading) and close: a cost the same for both sides, paid once per run, that
 * prefetch does not change.
 *
 * `BENCH_BATCHES` and `BENCH_ROUNDS` change the size.
 *
 * @module
 */

import { action, Batch, Dataset, inbatchParallel, kernel, WorkerPool } from "../mod.ts";
import { mixBatch } from "./fixtures/batch_kernels.ts";

const BATCH = 8;
const BATCHES = Number(Deno.env.get("BENCH_BATCHES") ?? 48);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);
/** The speedup prefetch 2 should give over prefetch 0 on 2 cores. */
const TARGET = 1.85;
const mixBatchK = kernel<typeof mixBatch>(
  new URL("./fixtures/batch_kernels.ts", import.meta.url),
  "mixBatch",
);

class Mixed extends Batch<number> {
  result = 0;

  whole(): number[][][] {
    return [[[...this.indices]]];
  }

  keep(results: unknown[]): this {
    this.result = results[0] as number;
    return this;
  }

  @action
  @inbatchParallel({ init: "whole", post: "keep", target: "workers" })
  mix(): typeof mixBatchK {
    return mixBatchK;
  }
}

const dataset = new Dataset(BATCH * BATCHES, Mixed);
const expected = Array.from(
  { length: BATCHES },
  (_, b) => mixBatch(Array.from({ length: BATCH }, (_, i) => b * BATCH + i)),
);

/** Batches a second through the pipeline with `prefetch`, on `pool` or the run's own. */
async function rate(prefetch: number, pool: WorkerPool | undefined): Promise<number> {
  const start = performance.now();
  let b = 0;
  const batches = dataset.p.mix().genBatch(BATCH, { prefetch, ...(pool && { pool }) });
  for await (const batch of batches) {
    if (batch.result !== expected[b]) throw new Error(`batch ${b}: wrong result`);
    b++;
  }
  if (b !== BATCHES) throw new Error(`got ${b} batches, expected ${BATCHES}`);
  return BATCHES / ((performance.now() - start) / 1000);
}

/** The best rate of each prefetch over ROUNDS alternating rounds. */
async function best(pool: WorkerPool | undefined): Promise<[number, number]> {
  let without = 0, with2 = 0;
  for (let round = 0; round < ROUNDS; round++) {
    without = Math.max(without, await rate(0, pool));
    with2 = Math.max(with2, await rate(2, pool));
  }
  return [without, with2];
}

/** Runs the kernel on every worker of `pool` (its module loaded, the kernel compiled). */
async function warm(pool: WorkerPool): Promise<void> {
  for (let tries = 0; pool.stats().workers.some((w) => w.tasksDone < 2); tries++) {
    if (tries === 10) throw new Error("the warm-up did not reach every worker");
    const items = Array.from({ length: BATCH }, (_, i) => i);
    await Promise.all(Array.from({ length: 2 * pool.size }, () => pool.run(mixBatchK, items)));
  }
}

console.log(
  `${BATCHES} batches of ${BATCH} items, a CPU-bound action on workers (about ${BATCH} ms a batch), ` +
    `best of ${ROUNDS} rounds, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores\n`,
);
await using pool = new WorkerPool({ name: "bench" });
await warm(pool);
const [without, with2] = await best(pool);
const [coldWithout, coldWith2] = await best(undefined);
console.log(`${"prefetch".padEnd(12)} ${"batches/s".padStart(10)}  speedup`);
console.log(`${"0".padEnd(12)} ${without.toFixed(1).padStart(10)}  1.00x`);
console.log(`${"2".padEnd(12)} ${with2.toFixed(1).padStart(10)}  ${(with2 / without).toFixed(2)}x`);
console.log(
  `\n2 vs 0: ${(with2 / without).toFixed(2)}x (target: at least ${TARGET}x on 2 cores; ` +
    `a pool of ${pool.size} workers, warm)`,
);
console.log(
  `2 vs 0 with each run's own pool (its start and close counted): ` +
    `${(coldWith2 / coldWithout).toFixed(2)}x (${coldWithout.toFixed(1)} and ${
      coldWith2.toFixed(1)
    } batches/s; no target)`,
);
