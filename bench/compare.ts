/**
 * Side-by-side: 1,000,000 items through three `map` stages (an async no-op,
 * concurrency 16, input order kept), with conveyor and with the tools people
 * use for this in JavaScript today, in one run. Prints items/s and each
 * tool's ratio to conveyor, and the ratios that have a target next to it:
 * conveyor fed by `ReadableStream.from` against p-map's `pMapIterable`, and
 * (a second part) one `PipelineBuilder` `pipe` stage of a trivial sync op
 * against a bare `map` stage. For the first, it also splits conveyor's time
 * per item fed by `ReadableStream.from`: what `ReadableStream.from` and the
 * native pipe cost by themselves (piped into an empty `WritableStream`, the
 * floor of any stage fed that way) and what conveyor's stages add on top.
 * `BENCH_N` and `BENCH_ROUNDS` change the size.
 *
 * @module
 */

import pMap, { pMapIterable } from "p-map";
import { Readable } from "node:stream";
import { map, PipelineBuilder, source } from "../mod.ts";

const N = Number(Deno.env.get("BENCH_N") ?? 1_000_000);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);
const C = 16;
const STAGES = 3;

function* numbers(): Generator<number> {
  for (let i = 0; i < N; i++) yield i;
}
const noop = async (x: number): Promise<number> => await x;

/** What every contestant returns, to check that all did the same work. */
type Result = { count: number; sum: number; ordered: boolean };

async function drain(items: AsyncIterable<number> | Iterable<number>): Promise<Result> {
  let count = 0, sum = 0, ordered = true;
  for await (const x of items) {
    if (x !== count) ordered = false;
    count++;
    sum += x;
  }
  return { count, sum, ordered };
}

// A TransformStream with the same semantics written the obvious way: keep up
// to C promises, and once there are C, wait for the oldest before taking more.
function naiveMap<I, O>(fn: (x: I) => Promise<O>, concurrency: number): TransformStream<I, O> {
  const pending: Promise<O>[] = [];
  return new TransformStream<I, O>({
    async transform(chunk, controller) {
      pending.push(fn(chunk));
      if (pending.length >= concurrency) controller.enqueue(await pending.shift()!);
    },
    async flush(controller) {
      while (pending.length > 0) controller.enqueue(await pending.shift()!);
    },
  });
}

// The same with async generators.
async function* generatorMap<I, O>(
  items: AsyncIterable<I> | Iterable<I>,
  fn: (x: I) => Promise<O>,
  concurrency: number,
): AsyncGenerator<O> {
  const pending: Promise<O>[] = [];
  for await (const item of items) {
    pending.push(fn(item));
    if (pending.length >= concurrency) yield await pending.shift()!;
  }
  while (pending.length > 0) yield await pending.shift()!;
}

// ReadableStream.from piped into a WritableStream that only counts: what the
// native pipe costs before any stage does work.
async function nativeFloor(): Promise<Result> {
  let count = 0, sum = 0, ordered = true;
  await ReadableStream.from(numbers()).pipeTo(
    new WritableStream<number>({
      write(x) {
        if (x !== count) ordered = false;
        count++;
        sum += x;
      },
    }),
  );
  return { count, sum, ordered };
}

const contestants: Record<string, () => Promise<Result>> = {
  "conveyor (source)": () => {
    let s: ReadableStream<number> = source(numbers());
    for (let i = 0; i < STAGES; i++) s = s.pipeThrough(map(noop, { concurrency: C }));
    return drain(s);
  },
  "conveyor (ReadableStream.from)": () => {
    let s: ReadableStream<number> = ReadableStream.from(numbers());
    for (let i = 0; i < STAGES; i++) s = s.pipeThrough(map(noop, { concurrency: C }));
    return drain(s);
  },
  "p-map pMapIterable": () => {
    let s: AsyncIterable<number> | Iterable<number> = numbers();
    for (let i = 0; i < STAGES; i++) s = pMapIterable(s, noop, { concurrency: C });
    return drain(s);
  },
  "p-map pMap (arrays)": async () => {
    let items: number[] = Array.from(numbers());
    for (let i = 0; i < STAGES; i++) items = await pMap(items, noop, { concurrency: C });
    return drain(items);
  },
  "node:stream Readable.map": () => {
    let s = Readable.from(numbers());
    for (let i = 0; i < STAGES; i++) s = s.map(noop, { concurrency: C });
    return drain(s as AsyncIterable<number>);
  },
  "naive TransformStream chain": () => {
    let s: ReadableStream<number> = ReadableStream.from(numbers());
    for (let i = 0; i < STAGES; i++) s = s.pipeThrough(naiveMap(noop, C));
    return drain(s);
  },
  "async generators": () => {
    let s: AsyncIterable<number> | Iterable<number> = numbers();
    for (let i = 0; i < STAGES; i++) s = generatorMap(s, noop, C);
    return drain(s);
  },
  "ReadableStream.from, pipe, no stage": nativeFloor,
};

const expected: Result = { count: N, sum: (N * (N - 1)) / 2, ordered: true };
const best: Record<string, number> = {};
console.log(
  `${
    N.toLocaleString("en")
  } items, ${STAGES} map stages (async no-op, concurrency ${C}, ordered), ` +
    `best of ${ROUNDS} rounds, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
);
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(contestants)) {
    const start = performance.now();
    const result = await run();
    const seconds = (performance.now() - start) / 1000;
    if (JSON.stringify(result) !== JSON.stringify(expected)) {
      throw new Error(
        `${name} gave ${JSON.stringify(result)}, expected ${JSON.stringify(expected)}`,
      );
    }
    best[name] = Math.max(best[name] ?? 0, N / seconds);
  }
}

const reference = best["conveyor (source)"]!;
console.log(`\n${"contestant".padEnd(32)} ${"items/s".padStart(12)}  vs conveyor`);
for (const [name, rate] of Object.entries(best)) {
  console.log(
    `${name.padEnd(32)} ${Math.round(rate).toLocaleString("en").padStart(12)}  ${
      (rate / reference).toFixed(2)
    }x`,
  );
}

const target = (ratio: number, at: number) =>
  `${ratio.toFixed(2)}x (target: at least ${at.toFixed(1)}x)${ratio >= at ? "" : "  BELOW TARGET"}`;
console.log(
  `conveyor (ReadableStream.from) / p-map pMapIterable: ${
    target(best["conveyor (ReadableStream.from)"]! / best["p-map pMapIterable"]!, 1)
  }`,
);
const ns = (rate: number) => 1e9 / rate;
const fed = ns(best["conveyor (ReadableStream.from)"]!);
const floor = ns(best["ReadableStream.from, pipe, no stage"]!);
console.log(
  `conveyor fed by ReadableStream.from: ${fed.toFixed(0)} ns an item, of which ` +
    `${floor.toFixed(0)} ns are ReadableStream.from and the native pipe alone, and ` +
    `${(fed - floor).toFixed(0)} ns conveyor's ${STAGES} stages (fed by source(): ` +
    `${ns(reference).toFixed(0)} ns an item in all); p-map pMapIterable: ` +
    `${ns(best["p-map pMapIterable"]!).toFixed(0)} ns an item`,
);

// One pipe stage of a trivial sync op, read with for await, against the
// same op as a bare map stage: what the builder's pipeline adds per item.
const inc = (x: number): number => x + 1;
const oneStage: Record<string, () => Promise<Result>> = {
  "bare map stage": () => drain(source(numbers()).pipeThrough(map(inc))),
  "PipelineBuilder pipe": async () => {
    await using pipeline = new PipelineBuilder().addSource(numbers()).pipe(inc).addSink().build();
    return await drain(pipeline);
  },
};
const shifted: Result = { count: N, sum: (N * (N + 1)) / 2, ordered: false };
const one: Record<string, number> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(oneStage)) {
    const start = performance.now();
    const result = await run();
    const seconds = (performance.now() - start) / 1000;
    if (result.count !== shifted.count || result.sum !== shifted.sum) {
      throw new Error(
        `${name} gave ${JSON.stringify(result)}, expected ${JSON.stringify(shifted)}`,
      );
    }
    one[name] = Math.max(one[name] ?? 0, N / seconds);
  }
}
console.log(`\none stage of x => x + 1 (sync), best of ${ROUNDS} rounds`);
for (const [name, rate] of Object.entries(one)) {
  console.log(`${name.padEnd(32)} ${Math.round(rate).toLocaleString("en").padStart(12)}`);
}
console.log(
  `PipelineBuilder pipe / bare map stage: ${
    target(one["PipelineBuilder pipe"]! / one["bare map stage"]!, 0.8)
  }`,
);
