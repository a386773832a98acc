/**
 * Autotuning: an I/O stage (5 ms of latency, a timer) then a CPU kernel
 * (about 250 µs of arithmetic) on a pool of 2 workers, both in input order,
 * built with `PipelineBuilder`. A sweep of hand-picked concurrencies (I/O 1,
 * 4, 16, 64, 256 × kernel 2, 8, 32 and the pool's adaptive default) and
 * `concurrency: "auto"` on both stages, in one run: each setting runs for
 * `BENCH_AUTOTUNE_MS` (the source stops then and the pipeline drains), and
 * its rate is items over the whole run, start-up and ramp included. Then
 * `BENCH_ROUNDS - 1` more rounds of "auto" and the sweep's best three,
 * interleaved. Prints every run's items/s, what "auto" picked, and "auto"'s
 * best over the sweep's best.
 *
 * @module
 */

import { kernel, PipelineBuilder, WorkerPool } from "../mod.ts";
import type { crunch } from "./fixtures/autotune_kernels.ts";

const RUN_MS = Number(Deno.env.get("BENCH_AUTOTUNE_MS") ?? 3_000);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const LATENCY_MS = 5;
const WORKERS = 2;
const MODULE = new URL("./fixtures/autotune_kernels.ts", import.meta.url);
const IO = [1, 4, 16, 64, 256] as const;
const CPU = [2, 8, 32, undefined] as const;

type Concurrency = number | "auto" | undefined;
interface Setting {
  readonly io: Concurrency;
  readonly cpu: Concurrency;
}

const label = ({ io, cpu }: Setting) => `io ${io} × kernel ${cpu ?? "pool default"}`;

/** The I/O: 5 ms of latency, then the item. */
async function fetchItem(id: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
  return id;
}

await using pool = new WorkerPool({ size: WORKERS });
const work = kernel<typeof crunch>(MODULE, "crunch");

/** Runs one setting for RUN_MS; its items/s and the concurrency each stage reported then. */
async function run(setting: Setting): Promise<{ rate: number; picked: number[] }> {
  const start = performance.now();
  const deadline = start + RUN_MS;
  function* ids(): Generator<number> {
    for (let i = 0; performance.now() < deadline; i++) yield i;
  }
  const options = (c: Concurrency) => (c === undefined ? {} : { concurrency: c });
  await using pipeline = new PipelineBuilder()
    .addSource(ids())
    .pipe(fetchItem, { ...options(setting.io), outputOrder: "input", name: "io" })
    .pipe(work, { ...options(setting.cpu), outputOrder: "input", name: "kernel", executor: pool })
    .addSink()
    .build();
  let count = 0;
  let picked: number[] | undefined;
  for await (const value of pipeline) {
    if (Math.floor(value / 256) !== count) throw new Error(`item ${count} out of order`);
    count++;
    if (picked === undefined && performance.now() >= deadline) {
      picked = pipeline.stats().stages.slice(0, 2).map((s) => s.concurrency);
    }
  }
  const rate = count / ((performance.now() - start) / 1000);
  picked ??= pipeline.stats().stages.slice(0, 2).map((s) => s.concurrency);
  return { rate, picked };
}

const fmt = (rate: number) => Math.round(rate).toLocaleString("en-US").padStart(7);
const AUTO: Setting = { io: "auto", cpu: "auto" };
const best = new Map<string, number>();
async function measure(setting: Setting): Promise<number> {
  const { rate, picked } = await run(setting);
  const key = label(setting);
  best.set(key, Math.max(best.get(key) ?? 0, rate));
  const chose = setting.io === "auto" ? `  (picked: io ${picked[0]}, kernel ${picked[1]})` : "";
  console.log(`  ${key.padEnd(32)} ${fmt(rate)} items/s${chose}`);
  return rate;
}

console.log(
  `autotune: ${LATENCY_MS} ms I/O then a ~250 µs kernel on ${WORKERS} workers, ${RUN_MS} ms a run`,
);
await run({ io: 64, cpu: undefined }); // warm-up: workers started, the kernel loaded and timed
console.log("round 1: the sweep, then auto");
const sweep: Setting[] = IO.flatMap((io) => CPU.map((cpu) => ({ io, cpu })));
const firstRound: [Setting, number][] = [];
for (const setting of sweep) firstRound.push([setting, await measure(setting)]);
await measure(AUTO);
const top = firstRound.sort((a, b) => b[1] - a[1]).slice(0, 3).map(([s]) => s);
for (let round = 2; round <= ROUNDS; round++) {
  console.log(`round ${round}: auto and the sweep's best three`);
  for (const setting of [AUTO, ...top]) await measure(setting);
}

const autoBest = best.get(label(AUTO))!;
const [bestKey, sweepBest] = [...best].filter(([k]) => k !== label(AUTO))
  .sort((a, b) => b[1] - a[1])[0]!;
console.log(`best of sweep: ${bestKey}, ${fmt(sweepBest).trim()} items/s`);
console.log(
  `auto / best of sweep: ${(autoBest / sweepBest).toFixed(2)} (target: at least 0.90)`,
);
