/**
 * Operations (blllib's model): a stateless CPU-bound operation (about 1 ms a
 * call) over 300 inputs with `nCpu: 1` against `nCpu: 2`, in one run: the
 * speedup of a second worker. `BENCH_OPS_N` and `BENCH_ROUNDS` change the size.
 *
 * @module
 */

import { kernel, Operations } from "../mod.ts";
import { crunch } from "../tests/fixtures/operation_kernels.ts";

const N = Number(Deno.env.get("BENCH_OPS_N") ?? 300);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const crunchK = kernel(
  new URL("../tests/fixtures/operation_kernels.ts", import.meta.url),
  "crunch",
  {
    batchSize: 8,
  },
);
const inputs = Array.from({ length: N }, (_, i) => i);
const expected = inputs.map(crunch);

async function rate(nCpu: number): Promise<number> {
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await using ops = new Operations<number, number>([crunchK], { nCpu });
    const start = performance.now();
    const out = await Array.fromAsync(ops.apply(inputs));
    const seconds = (performance.now() - start) / 1000;
    if (out.some((x, i) => x !== expected[i])) throw new Error("wrong results");
    best = Math.max(best, N / seconds);
  }
  return best;
}

console.log(
  `${N} inputs through a stateless CPU-bound operation (batchSize 8), best of ${ROUNDS} rounds, ` +
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores\n`,
);
const one = await rate(1);
const two = await rate(2);
console.log(`${"nCpu".padEnd(8)} ${"items/s".padStart(10)}  speedup`);
console.log(`${"1".padEnd(8)} ${Math.round(one).toLocaleString("en").padStart(10)}  1.00x`);
console.log(
  `${"2".padEnd(8)} ${Math.round(two).toLocaleString("en").padStart(10)}  ${
    (two / one).toFixed(2)
  }x`,
);
