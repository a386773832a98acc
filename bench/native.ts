/**
 * Native kernels through `map()`: a CPU-bound C function called through
 * `native()` with `nonblocking: true`, through `nativePool()` (2 threads),
 * and from kernels on a WorkerPool, at concurrency 1 and 2, in one run.
 * Prints items/s and the speedup of 2 over 1: 2× at best on 2 free cores,
 * less for short calls, whose threads are woken and placed per call
 * (about 1.5× for 2 ms calls on the 2-core development machine). A
 * blocking symbol is the control: it holds the main thread, so concurrency
 * cannot overlap it. Builds tests/fixtures/kernels.c with `cc` into a
 * temporary directory. `BENCH_N`, `BENCH_ROUNDS` and `BENCH_MS` (one call's
 * target duration) change the size.
 *
 * @module
 */

import { kernel, map, native, nativePool, source, WorkerPool } from "../mod.ts";
import type { burn as burnKernel } from "../tests/fixtures/native_kernels.ts";
import { buildKernels, KERNELS } from "../tests/_native.ts";

const N = Number(Deno.env.get("BENCH_N") ?? 200);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
// Deno runs each nonblocking call on a pooled thread that sleeps between
// calls; the OS often wakes it on the busy core, so on 2 cores two such calls
// overlap for only part of their time (1.5–1.7× here for calls of 2–10 ms,
// where C threads that never sleep reach 1.9×). Workers that the pool keeps
// fed do not sleep: the last row.
const CALL_MS = Number(Deno.env.get("BENCH_MS") ?? 2);

await using built = await buildKernels();
using lib = native(built.path, KERNELS);

/** The shortest of 3 runs of `fn`, in milliseconds. */
async function fastest(fn: () => unknown): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    await fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

// Sizes that make one call take about CALL_MS on this machine (both kernels are linear).
const probe = 1 << 20;
const iters = Math.round(probe * CALL_MS / await fastest(() => lib.symbols.burn_sync(1, probe)));
const ones = new Float64Array(probe).fill(1);
const length = Math.min(
  1 << 24,
  Math.round(probe * CALL_MS / await fastest(() => lib.symbols.sum_squares(ones, BigInt(probe)))),
);
const data = new Float64Array(length).map((_, i) => Math.sin(i));
const expectedSum = await lib.symbols.sum_squares(data, BigInt(length));
const expectedBurn = lib.symbols.burn_sync(1, iters);

type Kernel = (x: number) => number | Promise<number>;
const kernels: Record<string, { fn: Kernel; expected: number }> = {
  [`burn, ${iters.toLocaleString("en")} iterations`]: {
    fn: (x) => lib.symbols.burn(x, iters),
    expected: expectedBurn,
  },
  [`sum_squares, ${length.toLocaleString("en")} doubles`]: {
    fn: () => lib.symbols.sum_squares(data, BigInt(length)),
    expected: expectedSum,
  },
  [`burn, blocking symbol (control)`]: {
    fn: (x) => lib.symbols.burn_sync(x, iters),
    expected: expectedBurn,
  },
};

async function run(fn: Kernel, concurrency: number, expected: number): Promise<number> {
  const start = performance.now();
  const out = ReadableStream.from(Array.from({ length: N }, () => 1))
    .pipeThrough(map(fn, { concurrency }));
  let count = 0;
  for await (const x of out) {
    if (x !== expected) throw new Error(`A kernel gave ${x}, expected ${expected}`);
    count++;
  }
  if (count !== N) throw new Error(`Got ${count} results, expected ${N}`);
  return N / ((performance.now() - start) / 1000);
}

console.log(
  `${N} items through map(), one native call each (about ${CALL_MS} ms), ` +
    `best of ${ROUNDS} rounds, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
);
const best: Record<string, [number, number]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, { fn, expected }] of Object.entries(kernels)) {
    const rates = best[name] ??= [0, 0];
    rates[0] = Math.max(rates[0], await run(fn, 1, expected));
    rates[1] = Math.max(rates[1], await run(fn, 2, expected));
  }
}

const rate = (x: number): string => Math.round(x).toLocaleString("en").padStart(12);
console.log(
  `\n${"kernel".padEnd(36)} ${"ms/call".padStart(8)} ${"c1 items/s".padStart(12)} ${
    "c2 items/s".padStart(12)
  }  c2/c1`,
);
for (const [name, [c1, c2]] of Object.entries(best)) {
  const ms = (1000 / c1).toFixed(2).padStart(8);
  console.log(`${name.padEnd(36)} ${ms} ${rate(c1)} ${rate(c2)}  ${(c2 / c1).toFixed(2)}x`);
}
const [c1, c2] = Object.values(best)[0]!;

// The same native function, called as a blocking symbol inside the workers of
// a WorkerPool (tests/fixtures/native_kernels.ts): each worker is a thread
// that the pool keeps fed, so no thread is woken per call.
Deno.env.set("CONVEYOR_KERNELS_LIB", built.path);
const inWorkers = kernel<typeof burnKernel>(
  new URL("../tests/fixtures/native_kernels.ts", import.meta.url),
  "burn",
);
const workerRates = [0, 0];
{
  await using pool = new WorkerPool({ size: 2 });
  await Promise.all([pool.run(inWorkers, 1), pool.run(inWorkers, 1)]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const concurrency of [1, 2]) {
      const start = performance.now();
      let count = 0;
      const out = source(Array.from({ length: N }, () => iters))
        .pipeThrough(pool.map(inWorkers, { concurrency }));
      for await (const x of out) {
        if (x !== expectedBurn) throw new Error(`A kernel gave ${x}, expected ${expectedBurn}`);
        count++;
      }
      if (count !== N) throw new Error(`Got ${count} results, expected ${N}`);
      const i = concurrency - 1;
      workerRates[i] = Math.max(workerRates[i]!, N / ((performance.now() - start) / 1000));
    }
  }
}
const [w1, w2] = workerRates as [number, number];

// nativePool(): the same, packaged: the library's functions on 2 threads.
const poolRates = [0, 0];
{
  await using threads = nativePool(built.path, { burn: KERNELS.burn_sync }, { threads: 2 });
  await Promise.all([threads.symbols.burn(1, 1), threads.symbols.burn(1, 1)]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const concurrency of [1, 2]) {
      const rate = await run((x) => threads.symbols.burn(x, iters), concurrency, expectedBurn);
      poolRates[concurrency - 1] = Math.max(poolRates[concurrency - 1]!, rate);
    }
  }
}
const [p1, p2] = poolRates as [number, number];
console.log(
  `${"burn in a WorkerPool of 2, blocking".padEnd(36)} ${(1000 / w1).toFixed(2).padStart(8)} ${
    rate(w1)
  } ${rate(w2)}  ${(w2 / w1).toFixed(2)}x`,
);
console.log(
  `${"burn via nativePool({ threads: 2 })".padEnd(36)} ${(1000 / p1).toFixed(2).padStart(8)} ${
    rate(p1)
  } ${rate(p2)}  ${(p2 / p1).toFixed(2)}x`,
);
console.log(`\nspeedup c2/c1, nonblocking symbol in map(): ${(c2 / c1).toFixed(2)}x`);
console.log(`speedup c2/c1, nativePool on 2 threads: ${(p2 / p1).toFixed(2)}x (target: 1.8x)`);
console.log(`speedup c2/c1, blocking symbol in 2 workers: ${(w2 / w1).toFixed(2)}x (target: 1.8x)`);
