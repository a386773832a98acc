/**
 * Side-by-side for the pools, in one run:
 *
 * (a) 200,000 trivial items (`x => x + 1`) through `pool.map` with 2
 *     workers, with the default options and with `concurrency: 64`, against
 *     Piscina (npm) with 2 threads running the same kernel in the same Deno
 *     process (`concurrency: 64` and Piscina in turn, round by round); items/s
 *     and the ratios. Then the default-options figure
 *     again, measured as (a) measures it (the first thing in a fresh
 *     process: a child of this one) 5 times back to back: every ratio to
 *     the Piscina figure of (a), and the worst.
 * (b) A CPU-bound kernel (about 1 ms of arithmetic per item, 400 items)
 *     through `pool.map` with 1 worker and with 2: the speedup.
 * (c) The trivial items of (a) through `ProcessPool.map` against
 *     `WorkerPool.map`, 2 workers each: items/s.
 *
 * `BENCH_POOL_N`, `BENCH_CPU_N` and `BENCH_ROUNDS` change the sizes.
 *
 * @module
 */

import { Piscina } from "piscina";
import { kernel, ProcessPool, source, WorkerPool } from "../mod.ts";
import { burn, increment } from "./fixtures/pool_kernels.ts";

const N = Number(Deno.env.get("BENCH_POOL_N") ?? 200_000);
const CPU_N = Number(Deno.env.get("BENCH_CPU_N") ?? 400);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const MODULE = new URL("./fixtures/pool_kernels.ts", import.meta.url);
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
// Set in the children that measure (a) again.
const CHILD = "BENCH_POOLS_CHILD";
const incrementK = kernel<typeof increment>(MODULE, "increment");
const burnK = kernel<typeof burn>(MODULE, "burn");

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/** Checks that a stream of results is `expected`, in order. */
async function check(
  items: AsyncIterable<number> | Iterable<number>,
  expected: readonly number[],
): Promise<void> {
  let i = 0;
  for await (const x of items) {
    if (x !== expected[i]) throw new Error(`item ${i}: got ${x}, expected ${expected[i]}`);
    i++;
  }
  if (i !== expected.length) throw new Error(`got ${i} items, expected ${expected.length}`);
}

/** Items/s of one run of `run` over `n` items. */
async function once(n: number, run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return n / ((performance.now() - start) / 1000);
}

/** Items/s of the best of `ROUNDS` runs of `run` over `n` items. */
async function best(n: number, run: () => Promise<void>): Promise<number> {
  let rate = 0;
  for (let round = 0; round < ROUNDS; round++) rate = Math.max(rate, await once(n, run));
  return rate;
}

function row(name: string, rate: number, ratio: string): void {
  console.log(
    `${name.padEnd(40)} ${Math.round(rate).toLocaleString("en").padStart(12)}  ${ratio}`,
  );
}

const increments = Array.from(range(N), increment);
/** One run of `pool.map(incrementK, options)` over the N items, checked. */
function trivialRun(pool: WorkerPool, options?: { concurrency: number }): Promise<void> {
  return check(source(range(N)).pipeThrough(pool.map(incrementK, options)), increments);
}

/** The best of ROUNDS runs of `pool.map(incrementK)`, default options, on a fresh pool. */
async function trivial(): Promise<number> {
  await using pool = new WorkerPool({ size: 2 });
  return await best(N, () => trivialRun(pool));
}

// A child (see the end of (a)) prints the default-options figure of (a), and ends.
if (Deno.env.get(CHILD) !== undefined) {
  console.log(await trivial());
  Deno.exit(0);
}

/** The default-options figure of (a), measured in a fresh process. */
async function fresh(): Promise<number> {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, import.meta.filename!],
    env: { [CHILD]: "1" },
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`the child measuring (a) exited with ${code}`);
  return Number(new TextDecoder().decode(stdout).trim());
}

console.log(
  `Pools, best of ${ROUNDS} rounds, Deno ${Deno.version.deno}, ` +
    `${navigator.hardwareConcurrency} cores`,
);

// (a) Trivial items: the cost of a task round trip.
console.log(`\n(a) ${N.toLocaleString("en")} items of x => x + 1, 2 workers`);
console.log(`${"contestant".padEnd(40)} ${"items/s".padStart(12)}  vs conveyor`);
const rates: Record<string, number> = {};
// The default options first, the first thing in this process (as the
// children below measure them); then `concurrency: 64` and Piscina in turn,
// round by round, each on a pool of its own made once: a noisy moment of the
// machine falls on one round of both, not on all the rounds of one.
rates["conveyor WorkerPool.map"] = await trivial();
{
  await using pool = new WorkerPool({ size: 2 });
  const piscina = new Piscina({
    filename: MODULE.href,
    name: "increment",
    minThreads: 2,
    maxThreads: 2,
  });
  try {
    // Piscina's own way: every task submitted at once, results awaited in order.
    const piscinaRun = () =>
      Promise.all(Array.from(range(N), (i) => piscina.run(i) as Promise<number>))
        .then((results) => check(results, increments));
    let capped = 0, piscinas = 0;
    for (let round = 0; round < ROUNDS; round++) {
      capped = Math.max(capped, await once(N, () => trivialRun(pool, { concurrency: 64 })));
      piscinas = Math.max(piscinas, await once(N, piscinaRun));
    }
    rates["conveyor WorkerPool.map, concurrency 64"] = capped;
    rates["Piscina run (all submitted at once)"] = piscinas;
  } finally {
    await piscina.destroy();
  }
}
const reference = rates["conveyor WorkerPool.map"]!;
for (const [name, rate] of Object.entries(rates)) {
  row(name, rate, `${(rate / reference).toFixed(3)}x`);
}
const piscinaRate = rates["Piscina run (all submitted at once)"]!;
const vsPiscina = (rate: number) => `${(rate / piscinaRate).toFixed(1)}x`;
console.log(`conveyor / Piscina: ${vsPiscina(reference)} (target: at least 10x)`);
console.log(
  `conveyor with concurrency 64 / Piscina: ${
    vsPiscina(rates["conveyor WorkerPool.map, concurrency 64"]!)
  } (target: at least 10x)`,
);

// (a) again: is the default figure steady from run to run? In this process
// the code is warm by now, and the figure higher than a fresh process gets;
// each run is a fresh process, as when the bench runs again.
const again: number[] = [];
for (let run = 0; run < 5; run++) again.push(await fresh());
console.log(
  `default options, 5 runs / Piscina: ${again.map(vsPiscina).join(" ")}; ` +
    `worst ${vsPiscina(Math.min(...again))} (target: at least 10x)`,
);

// (b) CPU-bound items: does a second worker double the rate?
console.log(`\n(b) ${CPU_N} items of a ~1 ms CPU-bound kernel`);
console.log(`${"workers".padEnd(40)} ${"items/s".padStart(12)}  speedup`);
const burns = Array.from(range(CPU_N), burn); // expected results, computed before timing
const cpu: number[] = [];
for (const size of [1, 2]) {
  await using pool = new WorkerPool({ size });
  await pool.run(burnK, 0); // load the module and warm the kernel up
  cpu.push(
    await best(CPU_N, () => check(source(range(CPU_N)).pipeThrough(pool.map(burnK)), burns)),
  );
  row(
    `${size} worker${size === 1 ? "" : "s"}`,
    cpu.at(-1)!,
    `${(cpu.at(-1)! / cpu[0]!).toFixed(2)}x`,
  );
}
console.log(`speedup 2 workers / 1: ${(cpu[1]! / cpu[0]!).toFixed(2)}x (target: at least 1.8x)`);

// (c) Child processes against Web Workers: the cost of pipes and node:v8.
console.log(`\n(c) ${N.toLocaleString("en")} items of x => x + 1, 2 workers each`);
console.log(`${"pool".padEnd(40)} ${"items/s".padStart(12)}  vs WorkerPool`);
const pools: [string, number][] = [];
for (const Pool of [WorkerPool, ProcessPool]) {
  await using pool = new Pool({ size: 2 });
  await pool.run(incrementK, 0); // start the workers and load the module
  pools.push([
    Pool.name,
    await best(N, () => check(source(range(N)).pipeThrough(pool.map(incrementK)), increments)),
  ]);
}
for (const [name, rate] of pools) row(name, rate, `${(rate / pools[0]![1]).toFixed(2)}x`);
