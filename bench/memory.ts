/**
 * Memory under a long run: 10,000,000 items through 3 `map` stages fed by
 * `source()`, and through a `PipelineBuilder` pipeline of 3 `pipe` stages,
 * with the process's resident set size (RSS) sampled every 100,000 items
 * (by the consumer: a pipeline of microtasks leaves timers no turn). Prints
 * the peak, the growth from the second to the last tenth of the run (flat:
 * nothing accumulates per item), and each next to its target.
 * `BENCH_MEMORY_N` changes the size.
 *
 * @module
 */

import { map, PipelineBuilder, source } from "../mod.ts";

const N = Number(Deno.env.get("BENCH_MEMORY_N") ?? 10_000_000);
const MB = 1024 * 1024;

function* numbers(): Generator<number> {
  for (let i = 0; i < N; i++) yield i;
}
const inc = async (x: number): Promise<number> => await x + 1;

const EVERY = 100_000;

/** Counts the items of `items`, sampling RSS (in MB) every EVERY items. */
async function sampled(items: AsyncIterable<number>): Promise<{ mb: number[]; count: number }> {
  const mb: number[] = [Deno.memoryUsage().rss / MB];
  let count = 0;
  for await (const _ of items) {
    if (++count % EVERY === 0) mb.push(Deno.memoryUsage().rss / MB);
  }
  mb.push(Deno.memoryUsage().rss / MB);
  return { mb, count };
}

function report(name: string, target: number, { mb, count }: { mb: number[]; count: number }) {
  if (count !== N) throw new Error(`${name}: got ${count} items, expected ${N}`);
  const tenth = Math.max(1, Math.floor(mb.length / 10));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // From the second tenth (past warm-up: the JIT, the heap growing to its
  // working size) to the last.
  const growth = mean(mb.slice(-tenth)) - mean(mb.slice(tenth, 2 * tenth));
  const peak = Math.max(...mb);
  console.log(
    `${name.padEnd(32)} peak RSS ${peak.toFixed(0).padStart(4)} MB (target: under ${target} MB)` +
      `  2nd->last tenth ${growth >= 0 ? "+" : ""}${growth.toFixed(1)} MB` +
      ` (${mb.length} samples)${peak < target ? "" : "  OVER TARGET"}`,
  );
}

console.log(
  `${N.toLocaleString("en")} items, RSS sampled every ${
    EVERY.toLocaleString("en")
  }, Deno ${Deno.version.deno}, ` +
    `${navigator.hardwareConcurrency} cores`,
);
report(
  "3 map stages (source)",
  100,
  await (() => {
    let s: ReadableStream<number> = source(numbers());
    for (let i = 0; i < 3; i++) s = s.pipeThrough(map(inc, { concurrency: 16 }));
    return sampled(s);
  })(),
);
report(
  "PipelineBuilder, 3 pipe stages",
  128,
  await (async () => {
    let builder = new PipelineBuilder().addSource(numbers()) as PipelineBuilder<number>;
    for (let i = 0; i < 3; i++) builder = builder.pipe(inc, { concurrency: 16 });
    await using pipeline = builder.addSink().build();
    return await sampled(pipeline);
  })(),
);
