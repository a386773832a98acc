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
 *
 * Each contestant runs in processes of its own (as JMH forks a JVM per
 * benchmark), and the contestants take turns, one run each per round. In one
 * shared process the contestants compile code for one another: those on web
 * streams (the naive chain, the native pipe, conveyor's own) made Deno's
 * stream internals slower for conveyor fed by `ReadableStream.from`, while
 * p-map uses none of them (0.93-1.00x p-map there, against 0.95-1.10x
 * apart, in runs of the same code). Taking turns spreads a noisy moment of
 * the machine over one round of every contestant. Each contestant's figure
 * is its best process's, and the best of every process is printed next to
 * it: a process runs the same code at one of two speeds for its whole life
 * (for one stage of x => x + 1, about 3.5 or 7.5 M items/s on this 2-core
 * machine, the bare stage as the pipeline, and p-map's processes alike;
 * whether V8 or the machine decides is not pinned down), so a ratio of two
 * such figures swings with the speed each side's processes drew.
 * `BENCH_N`, `BENCH_ROUNDS` and `BENCH_PROCESSES` change the size.
 *
 * @module
 */

import pMap, { pMapIterable } from "p-map";
import { Readable } from "node:stream";
import { lines, map, PipelineBuilder, source } from "../mod.ts";

const N = Number(Deno.env.get("BENCH_N") ?? 1_000_000);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);
/**
 * Processes per contestant, by group. A process runs at one of two speeds
 * for its whole life, and for one stage of x => x + 1 14 of 32 processes drew
 * the slow one (about 3.3 M items/s against 7 M; the bare stage and the
 * pipe, before and after one change, alike), so that with 2 processes each
 * both of one side's were slow about one run in five and the ratio was off
 * by up to 2x either way (the pipe's two at 5.17 and 5.00 M gave 0.78x in one
 * full bench). Its runs are short: 6 processes each cost seconds. The three
 * stages' group takes minutes, with 8 contestants: 3 each.
 */
const PROCESSES = {
  "three stages": Number(Deno.env.get("BENCH_PROCESSES") ?? 3),
  "one stage": Number(Deno.env.get("BENCH_PROCESSES") ?? 6),
};
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
const same = (result: Result) => JSON.stringify(result) === JSON.stringify(expected);

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
const shiftedSame = (result: Result) =>
  result.count === shifted.count && result.sum === shifted.sum;

const groups = {
  "three stages": { contestants, check: same, expected },
  "one stage": { contestants: oneStage, check: shiftedSame, expected: shifted },
};
type Group = keyof typeof groups;

/** One run of a contestant: its items/s. */
async function once(group: Group, name: string): Promise<number> {
  const { contestants, check, expected } = groups[group];
  const start = performance.now();
  const result = await contestants[name]!();
  const seconds = (performance.now() - start) / 1000;
  if (!check(result)) {
    throw new Error(`${name} gave ${JSON.stringify(result)}, expected ${JSON.stringify(expected)}`);
  }
  return N / seconds;
}

// A child holds one contestant: each line on its stdin runs it once, and it
// answers with a line of items/s. It ends when its stdin closes.
const CHILD = "BENCH_COMPARE_CONTESTANT";
const child = Deno.env.get(CHILD);
if (child !== undefined) {
  const [group, name] = JSON.parse(child) as [Group, string];
  for await (const chunk of Deno.stdin.readable) {
    for (const byte of chunk) if (byte === 10) console.log(await once(group, name));
  }
  Deno.exit(0);
}

const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** A contestant in a process of its own, idle between its runs. */
class Contender {
  readonly #process: Deno.ChildProcess;
  readonly #input: WritableStreamDefaultWriter<Uint8Array>;
  readonly #output: ReadableStreamDefaultReader<string>;

  constructor(group: Group, name: string) {
    this.#process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", CONFIG, import.meta.filename!],
      env: { [CHILD]: JSON.stringify([group, name]), BENCH_N: String(N) },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#input = this.#process.stdin.getWriter();
    this.#output = this.#process.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lines())
      .getReader();
  }

  /** Runs the contestant once in its process: its items/s. */
  async run(): Promise<number> {
    await this.#input.write(new Uint8Array([10]));
    const { value, done } = await this.#output.read();
    if (done) throw new Error("a contestant's process ended before it answered");
    return Number(value);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#input.close().catch(() => {});
    await this.#output.cancel().catch(() => {});
    const { code } = await this.#process.status;
    if (code !== 0) throw new Error(`a contestant's process exited with ${code}`);
  }
}

/**
 * Every contestant of `group` in PROCESSES processes of its own, run in
 * turn, round by round: each process's best items/s, by contestant. Apart,
 * no contestant compiles code that another uses (in one process, the ones on
 * web streams made Deno's stream internals slower for the others); in turn,
 * a noisy moment of the machine falls on one round of all, not on all
 * rounds of one.
 */
async function measure(group: Group): Promise<Record<string, number[]>> {
  await using stack = new AsyncDisposableStack();
  const names = Object.keys(groups[group].contestants);
  const contenders = names.flatMap((name) =>
    Array.from(
      { length: PROCESSES[group] },
      () => ({ name, contender: stack.use(new Contender(group, name)), best: 0 }),
    )
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const entry of contenders) {
      entry.best = Math.max(entry.best, await entry.contender.run());
    }
  }
  const rates: Record<string, number[]> = {};
  for (const { name, best } of contenders) (rates[name] ??= []).push(best);
  return rates;
}

// A contestant's figure is its best process's. A process runs the same code
// at one of two speeds (about 2x apart for one trivial stage, for conveyor as
// for the rest), so each process's best is printed next to it.
const bestOf = (rates: Record<string, number[]>): Record<string, number> =>
  Object.fromEntries(Object.entries(rates).map(([name, r]) => [name, Math.max(...r)]));
const processes = (rates: number[]) =>
  `  (processes: ${rates.map((r) => (r / 1e6).toFixed(2)).join(", ")} M)`;
// Wide enough for the longest contestant's name.
const WIDTH = 36;

console.log(
  `${
    N.toLocaleString("en")
  } items, ${STAGES} map stages (async no-op, concurrency ${C}, ordered), ` +
    `${PROCESSES["three stages"]} processes per contestant, best of ${ROUNDS} rounds each, ` +
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
);
const rates = await measure("three stages");
const best = bestOf(rates);

const reference = best["conveyor (source)"]!;
console.log(`\n${"contestant".padEnd(WIDTH)} ${"items/s".padStart(12)}  vs conveyor`);
for (const [name, rate] of Object.entries(best)) {
  console.log(
    `${name.padEnd(WIDTH)} ${Math.round(rate).toLocaleString("en").padStart(12)}  ${
      (rate / reference).toFixed(2)
    }x${processes(rates[name]!)}`,
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

const oneRates = await measure("one stage");
const one = bestOf(oneRates);
console.log(
  `\none stage of x => x + 1 (sync), ${
    PROCESSES["one stage"]
  } processes each, best of ${ROUNDS} rounds`,
);
for (const [name, rate] of Object.entries(one)) {
  console.log(
    `${name.padEnd(WIDTH)} ${Math.round(rate).toLocaleString("en").padStart(12)}${
      processes(oneRates[name]!)
    }`,
  );
}
console.log(
  `PipelineBuilder pipe / bare map stage: ${
    target(one["PipelineBuilder pipe"]! / one["bare map stage"]!, 0.8)
  }`,
);
