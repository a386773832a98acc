/**
 * A batch pipeline (batchflow's model) whose action is CPU-bound and runs on
 * workers (`@inbatchParallel` with `target: "workers"`, one kernel call per
 * batch), with `prefetch` 0 against 2, in one run: the speedup of running
 * batches side by side. `BENCH_BATCHES` and `BENCH_ROUNDS` change the size.
 *
 * @module
 */

import { action, Batch, Dataset, inbatchParallel, kernel } from "../mod.ts";
import { burnAll } from "./fixtures/pool_kernels.ts";

const BATCH = 8;
const BATCHES = Number(Deno.env.get("BENCH_BATCHES") ?? 48);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const burnAllK = kernel<typeof burnAll>(
  new URL("./fixtures/pool_kernels.ts", import.meta.url),
  "burnAll",
);

class Crunched extends Batch<number> {
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
  crunch(): typeof burnAllK {
    return burnAllK;
  }
}

const dataset = new Dataset(BATCH * BATCHES, Crunched);
const expected = Array.from(
  { length: BATCHES },
  (_, b) => burnAll(Array.from({ length: BATCH }, (_, i) => b * BATCH + i)),
);

async function rate(prefetch: number): Promise<number> {
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    let b = 0;
    for await (const batch of dataset.p.crunch().genBatch(BATCH, { prefetch })) {
      if (batch.result !== expected[b]) throw new Error(`batch ${b}: wrong result`);
      b++;
    }
    if (b !== BATCHES) throw new Error(`got ${b} batches, expected ${BATCHES}`);
    best = Math.max(best, BATCHES / ((performance.now() - start) / 1000));
  }
  return best;
}

console.log(
  `${BATCHES} batches of ${BATCH} items, a CPU-bound action on workers (about ${BATCH} ms a batch), ` +
    `best of ${ROUNDS} rounds, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores\n`,
);
const without = await rate(0);
const with2 = await rate(2);
console.log(`${"prefetch".padEnd(12)} ${"batches/s".padStart(10)}  speedup`);
console.log(`${"0".padEnd(12)} ${without.toFixed(1).padStart(10)}  1.00x`);
console.log(`${"2".padEnd(12)} ${with2.toFixed(1).padStart(10)}  ${(with2 / without).toFixed(2)}x`);
