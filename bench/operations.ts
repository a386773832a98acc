/**
 * Operations (blllib's model): a stateless CPU-bound operation (about 1 ms a
 * call, `batchSize` 8) over 300 inputs with `nCpu: 1` against `nCpu: 2`, in
 * one run: the speedup of a second worker.
 *
 * Each side runs its own Operations, which starts its workers when `apply`
 * starts; the same warm-up inputs go first (enough for every worker to load
 * the kernel's module and for V8 to finish optimizing the kernel there), and
 * the timed part begins once their outputs are out: from the first timed
 * input to the last output. The rounds alternate between the sides, and each
 * side's best round counts.
 * Every output is checked. On Linux it also says how much CPU the main thread
 * and V8's helper threads took during the best `nCpu: 2` round: on 2 cores
 * that time is taken from the workers, which bounds the speedup. A last line
 * gives the figure from `apply` on, the workers' start counted: a cost paid
 * once per Operations.
 *
 * `BENCH_OPS_N` and `BENCH_ROUNDS` change the size.
 *
 * @module
 */

import { kernel, Operations } from "../mod.ts";
import { crunch } from "../tests/fixtures/operation_kernels.ts";
import { spentBesidesWorkers, threadTimes } from "./_threads.ts";

const N = Number(Deno.env.get("BENCH_OPS_N") ?? 300);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);
const BATCH_SIZE = 8;
/**
 * Warm-up inputs, before the timed ones: 64 for each of 2 workers. With a
 * window's worth each (16 in all), V8 was still compiling the kernel in every
 * worker (`--trace-opt`: its optimizing compiles ended inside the timed
 * part). Those compiles run on V8's helper threads: on 2 cores they take
 * their CPU from the workers of `nCpu: 2` and from the idle core under
 * `nCpu: 1`, which measured the speedup about 0.02 low.
 */
const WARM = 16 * BATCH_SIZE;
/** The speedup `nCpu: 2` should give over `nCpu: 1` on 2 cores. */
const TARGET = 1.85;
const crunchK = kernel(
  new URL("../tests/fixtures/operation_kernels.ts", import.meta.url),
  "crunch",
  { batchSize: BATCH_SIZE },
);
const inputs = Array.from({ length: N }, (_, i) => i);
const expected = inputs.map(crunch);

/** Checks the outputs of the timed inputs. */
function check(out: number[]): void {
  if (out.length !== N || out.some((x, i) => x !== expected[i])) throw new Error("wrong results");
}

/** CPU time besides the workers' during the best `nCpu: 2` round, with its rate. */
let besides: { main: number; helpers: number; rate: number } | undefined;

/** Inputs a second with `nCpu` workers, warmed first. */
async function warmRate(nCpu: number): Promise<number> {
  await using ops = new Operations<number, number>([crunchK], { nCpu });
  let warmed!: () => void;
  const warm = new Promise<void>((resolve) => warmed = resolve);
  let start = 0;
  let before = new Map<string, number>();
  async function* feed(): AsyncGenerator<number> {
    for (let i = 0; i < WARM; i++) yield -1 - i;
    await warm;
    const workers = ops.stats().pool!.workers;
    if (workers.length !== nCpu || workers.some((w) => w.tasksDone === 0)) {
      throw new Error(`the warm-up did not reach every worker: ${JSON.stringify(workers)}`);
    }
    before = threadTimes();
    start = performance.now();
    yield* inputs;
  }
  const out: number[] = [];
  let seen = 0;
  for await (const x of ops.apply(feed())) {
    if (++seen === WARM) warmed();
    else if (seen > WARM) out.push(x);
  }
  const seconds = (performance.now() - start) / 1000;
  const spent = spentBesidesWorkers(before, threadTimes());
  check(out);
  const rate = N / seconds;
  if (nCpu === 2 && spent !== undefined && rate > (besides?.rate ?? 0)) {
    besides = { ...spent, rate };
  }
  return rate;
}

/** Inputs a second with `nCpu` workers, from `apply` on (their start counted). */
async function coldRate(nCpu: number): Promise<number> {
  await using ops = new Operations<number, number>([crunchK], { nCpu });
  const start = performance.now();
  const out = await Array.fromAsync(ops.apply(inputs));
  const seconds = (performance.now() - start) / 1000;
  check(out);
  return N / seconds;
}

/** The best rate of nCpu 1 and of nCpu 2 over ROUNDS alternating rounds. */
async function best(rate: (nCpu: number) => Promise<number>): Promise<[number, number]> {
  let one = 0, two = 0;
  for (let round = 0; round < ROUNDS; round++) {
    one = Math.max(one, await rate(1));
    two = Math.max(two, await rate(2));
  }
  return [one, two];
}

console.log(
  `${N} inputs through a stateless CPU-bound operation (batchSize ${BATCH_SIZE}), ` +
    `best of ${ROUNDS} rounds, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores\n`,
);
const [one, two] = await best(warmRate);
const [coldOne, coldTwo] = await best(coldRate);
const items = (rate: number) => Math.round(rate).toLocaleString("en");
console.log(`${"nCpu".padEnd(8)} ${"items/s".padStart(10)}  speedup`);
console.log(`${"1".padEnd(8)} ${items(one).padStart(10)}  1.00x`);
console.log(`${"2".padEnd(8)} ${items(two).padStart(10)}  ${(two / one).toFixed(2)}x`);
console.log(
  `\nnCpu 2 vs 1: ${(two / one).toFixed(2)}x (target: at least ${TARGET}x on 2 cores; ` +
    `workers warm)`,
);
if (besides !== undefined) {
  // Each input costs a worker about 1 / `one` seconds; on 2 cores the
  // workers get what the other threads leave.
  const work = (N / one) * 1000;
  const others = besides.main + besides.helpers;
  console.log(
    `besides its workers, the best nCpu 2 round took ${besides.main.toFixed(1)} ms of CPU on the ` +
      `main thread and ${besides.helpers.toFixed(1)} ms on V8's helper threads, against ` +
      `${work.toFixed(0)} ms of work: on 2 cores that caps the speedup at about ` +
      `${(2 / (1 + others / work)).toFixed(2)}x`,
  );
}
console.log(
  `nCpu 2 vs 1 from apply on (the workers' start counted): ${(coldTwo / coldOne).toFixed(2)}x ` +
    `(${items(coldOne)} and ${items(coldTwo)} items/s; no target)`,
);
