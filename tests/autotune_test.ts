// `concurrency: "auto"`: the stage picks its own limit while it runs, never
// above its bound, with output order kept and the chosen value in stats().
// The tuner's rules are checked with a fake clock and a modelled stage; the
// stages with real tasks wait for events, never for time.

import assert from "node:assert/strict";
import {
  filter,
  flatMap,
  kernel,
  kernelStage,
  map,
  PipelineBuilder,
  type StageStream,
  WorkerPool,
} from "../mod.ts";
import { AUTO_LIMIT } from "../src/_internal/options.ts";
import { Tuner } from "../src/stream/_autotune.ts";
import { type PoolLike, poolStage } from "../src/exec/pool_stage.ts";
import { modes, random, sleep } from "./_util.ts";

const square = kernel<(x: number) => number>(
  new URL("./fixtures/kernels.ts", import.meta.url),
  "square",
);

/** A task that waits a timer (an I/O stand-in) and records how many run at once. */
function gauged(delay: (x: number) => number) {
  const seen = { running: 0, most: 0 };
  const task = async (x: number) => {
    seen.most = Math.max(seen.most, ++seen.running);
    await sleep(delay(x));
    seen.running--;
    return x;
  };
  return { seen, task };
}

/** Items 0, 1, ... until `stop()` holds (checked before each), at most `cap`. */
function* until(stop: () => boolean, cap: number): Generator<number> {
  for (let i = 0; i < cap && !stop(); i++) yield i;
}

for (const mode of modes) {
  Deno.test(`[${mode.name}] map with concurrency "auto" keeps input order and never runs more than its bound, with a fast consumer`, async () => {
    const next = random(7);
    const { seen, task } = gauged(() => Math.floor(next() * 3));
    const stage = map(task, { concurrency: "auto" });
    let held = 0;
    const counted = map((x: number) => {
      const { itemsIn, itemsOut } = stage.stats();
      held = Math.max(held, itemsIn - itemsOut);
      return x;
    });
    const out = await mode.collect(
      mode.pipe(mode.pipe(mode.from(until(() => false, 3000)), stage), counted),
    );
    assert.deepEqual(out, Array.from({ length: 3000 }, (_, i) => i));
    assert(seen.most <= AUTO_LIMIT, `${seen.most} tasks ran at once`);
    assert(held <= AUTO_LIMIT, `the stage held ${held} items`);
    const { concurrency, inFlight } = stage.stats();
    assert(concurrency >= 1 && concurrency <= AUTO_LIMIT, `concurrency ${concurrency}`);
    assert.equal(inFlight, 0);
  });

  Deno.test(`[${mode.name}] map with concurrency "auto" holds no more than its bound for a slow consumer`, async () => {
    const { seen, task } = gauged(() => 0);
    const stage = map(task, { concurrency: "auto", ordered: false });
    let held = 0;
    let count = 0;
    for await (const _ of mode.pipe(mode.from(until(() => false, 2000)), stage)) {
      const { itemsIn, itemsOut } = stage.stats();
      held = Math.max(held, itemsIn - itemsOut);
      if (++count % 50 === 0) await sleep(1); // a consumer slower than the tasks
    }
    assert.equal(count, 2000);
    assert(seen.most <= AUTO_LIMIT, `${seen.most} tasks ran at once`);
    assert(held <= AUTO_LIMIT, `the stage held ${held} items`);
  });

  Deno.test(`[${mode.name}] stats() shows the concurrency "auto" picked: above 1 for waiting tasks`, async () => {
    let picked = 0;
    const stage: StageStream<number, number> = map(async (x: number) => {
      await sleep(0);
      picked = Math.max(picked, stage.stats().concurrency);
      return x;
    }, { concurrency: "auto" });
    // Items flow until a task sees a limit above 1 (the cap turns a tuner
    // that never grows into a failure, not a hang).
    let count = 0;
    const items = mode.from(until(() => picked > 1, 20_000));
    for await (const _ of mode.pipe(items, stage)) count++;
    assert(picked > 1, `the limit stayed at ${picked} over ${count} items`);
    assert(picked <= AUTO_LIMIT);
  });
}

Deno.test('filter and flatMap take concurrency "auto" and keep input order', async () => {
  const next = random(3);
  const wait = async <T>(value: T) => {
    await sleep(Math.floor(next() * 3));
    return value;
  };
  const kept = await Array.fromAsync(
    ReadableStream.from(until(() => false, 500))
      .pipeThrough(filter((x: number) => wait(x % 3 === 0), { concurrency: "auto" }))
      .pipeThrough(flatMap((x: number) => wait([x, -x]), { concurrency: "auto" })),
  );
  const want = Array.from({ length: 500 }, (_, i) => i).filter((x) => x % 3 === 0)
    .flatMap((x) => [x, -x]);
  assert.deepEqual(kept, want);
});

Deno.test('pool.map and kernelStage take concurrency "auto": results in order, the limit in stats()', async () => {
  await using pool = new WorkerPool({ size: 2 });
  const input = Array.from({ length: 2000 }, (_, i) => i);
  for (
    const stage of [
      pool.map(square, { concurrency: "auto" }),
      kernelStage(square, "main", { concurrency: "auto" }),
    ]
  ) {
    const out = await Array.fromAsync(ReadableStream.from(input).pipeThrough(stage));
    assert.deepEqual(out, input.map((x) => x * x));
    const { concurrency } = stage.stats();
    assert(concurrency >= 1 && concurrency <= AUTO_LIMIT, `concurrency ${concurrency}`);
  }
});

Deno.test('on a pool, "auto" never runs more tasks than the pool wants', async () => {
  // A pool that wants 3 tasks in flight, each a timer.
  const seen = { running: 0, most: 0, reported: 0 };
  const pool: PoolLike<number> = {
    waitForRoom: () => undefined,
    submit: async (_k, input) => {
      seen.most = Math.max(seen.most, ++seen.running);
      seen.reported = Math.max(seen.reported, stage.stats().concurrency);
      await sleep(1);
      seen.running--;
      return input;
    },
    abort: () => {},
    wanted: () => 3,
    workers: () => 1,
  };
  const call = { pick: undefined, retries: 0, spread: false, adaptive: false };
  const stage: StageStream<number, number> = poolStage(pool, square, call, {
    concurrency: "auto",
  });
  // Items flow until the limit reached what the pool wants (the cap turns a
  // tuner that never grows into a failure, not a hang).
  const items = ReadableStream.from(until(() => seen.most >= 3, 20_000));
  const out = await Array.fromAsync(items.pipeThrough(stage));
  assert.deepEqual(out, out.map((_, i) => i));
  assert.equal(seen.most, 3);
  assert(seen.reported <= 3, `stats() reported ${seen.reported}`);
});

Deno.test('a builder pipe takes concurrency "auto" for a function and a kernel on the pipeline\'s pool', async () => {
  const { seen, task } = gauged(() => 1);
  await using pipeline = new PipelineBuilder()
    .addSource(until(() => false, 1000))
    .pipe(task, { concurrency: "auto", outputOrder: "input", name: "wait" })
    .pipe(square, { concurrency: "auto", outputOrder: "input", name: "square" })
    .addSink()
    .build({ numThreads: 2 });
  const out = await Array.fromAsync(pipeline);
  assert.deepEqual(out, Array.from({ length: 1000 }, (_, i) => i * i));
  assert(seen.most <= AUTO_LIMIT);
  for (const stage of pipeline.stats().stages.slice(0, 2)) {
    assert(stage.concurrency >= 1 && stage.concurrency <= AUTO_LIMIT, `${stage.name}`);
  }
});

Deno.test('a concurrency other than a number or "auto" is refused with the words it takes', async () => {
  const words = /concurrency must be a positive integer, Infinity or "auto", got "automatic"/;
  const bad = { concurrency: "automatic" as "auto" };
  assert.throws(() => map((x: number) => x, bad), TypeError);
  assert.throws(() => map((x: number) => x, bad), words);
  assert.throws(() => filter(Boolean, bad), /filter stage: concurrency/);
  await using pool = new WorkerPool({ size: 1 });
  assert.throws(() => pool.map(square, bad), words);
  assert.throws(() => kernelStage(square, "main", bad), words);
  assert.throws(
    () => new PipelineBuilder().addSource([1]).pipe((x: number) => x, bad).addSink().build(),
    words,
  );
  assert.throws(() => map((x: number) => x, { concurrency: 0 }), RangeError);
});

// ---- The tuner's rules, with a fake clock and a modelled stage.

/**
 * A stage modelled in steps of 1 ms: `running(limit)` tasks are busy, and
 * `rate(limit)` tasks end per ms. Returns every limit the tuner picked.
 */
function drive(
  tuner: Tuner,
  clock: { t: number },
  busy: { ms: number },
  ms: number,
  model: { running: (limit: number) => number; rate: (limit: number) => number; full?: boolean },
): number[] {
  const limits: number[] = [];
  let owed = 0;
  for (let step = 0; step < ms; step++) {
    clock.t++;
    busy.ms += model.running(tuner.limit);
    owed += model.rate(tuner.limit);
    for (; owed >= 1; owed--) limits.push(tuner.ended(model.full ?? false));
  }
  return limits;
}

function tuned(bound = AUTO_LIMIT, admits?: (n: number) => boolean) {
  const clock = { t: 0 };
  const busy = { ms: 0 };
  const stage = { busyMs: () => busy.ms, ...(admits === undefined ? {} : { admits }) };
  const tuner = new Tuner(stage, bound, () => clock.t);
  return { tuner, clock, busy };
}

// I/O: every slot busy, and each more slot more tasks ended (5 ms a task).
const io = { running: (l: number) => l, rate: (l: number) => l / 5 };

Deno.test("the tuner grows a limit that holds the stage back up to its bound, never past it", () => {
  const { tuner, clock, busy } = tuned(64);
  assert.equal(tuner.limit, 1);
  const limits = drive(tuner, clock, busy, 2000, io);
  assert.equal(Math.max(...limits), 64);
  assert.equal(tuner.limit, 64);
});

Deno.test("the tuner never goes past what the layer above admits", () => {
  const { tuner, clock, busy } = tuned(AUTO_LIMIT, (n) => n <= 10);
  const limits = drive(tuner, clock, busy, 2000, io);
  assert.equal(Math.max(...limits), 10);
});

Deno.test("under a pool's rule the tuner grows to what the pool admits without a trial, and shrinks when starved", () => {
  // The pool keeps 12 workers busy and admits 40 tasks: past 12 the rate
  // stays, and the tasks wait in the pool (busy, for the stage).
  let wanted = 40;
  const { tuner, clock, busy } = tuned(AUTO_LIMIT, (n) => n <= wanted);
  const pool = { running: (l: number) => l, rate: (l: number) => Math.min(l, 12) / 5 };
  const limits = drive(tuner, clock, busy, 2000, pool);
  assert.equal(tuner.limit, 40);
  assert(limits.every((l) => l <= 40));
  // The pool wants fewer (the kernel got faster to run): the limit follows.
  wanted = 20;
  drive(tuner, clock, busy, 200, pool);
  assert.equal(tuner.limit, 20);
  // The input dries up to 2 tasks at a time: the limit shrinks to a few
  // times what runs (it shrinks while under a third is in use).
  drive(tuner, clock, busy, 500, { running: () => 2, rate: () => 2 / 5 });
  assert(tuner.limit <= 6, `limit ${tuner.limit}`);
});

Deno.test("the tuner steps back from a growth that does not raise the rate", () => {
  // A pool of 12 workers: tasks past 12 wait (busy, for the stage), and the
  // rate stops at 12 tasks per 5 ms.
  const { tuner, clock, busy } = tuned();
  const pool = { running: (l: number) => l, rate: (l: number) => Math.min(l, 12) / 5 };
  const limits = drive(tuner, clock, busy, 5000, pool);
  assert(Math.max(...limits) <= 32, `grew to ${Math.max(...limits)}`);
  const late = limits.slice(-1000);
  assert(late.every((l) => l >= 12 && l <= 25), `late limits ${[...new Set(late)]}`);
});

Deno.test("the tuner does not grow while the output buffer is full, and shrinks to what runs", () => {
  const { tuner, clock, busy } = tuned();
  drive(tuner, clock, busy, 2000, io);
  assert.equal(tuner.limit, AUTO_LIMIT);
  // The consumer slows down: the buffer is full and 8 tasks run.
  const pushed = { running: () => 8, rate: () => 8 / 5, full: true };
  const limits = drive(tuner, clock, busy, 500, pushed);
  assert(tuner.limit <= 16, `limit ${tuner.limit}`);
  assert(limits.every((l) => l <= AUTO_LIMIT));
  // A full buffer stops growth even with every slot busy.
  const before = tuner.limit;
  drive(tuner, clock, busy, 500, { ...io, full: true });
  assert.equal(tuner.limit, before);
});

Deno.test("the tuner reads the clock only at the end of a window", () => {
  let reads = 0;
  const tuner = new Tuner({ busyMs: () => 0 }, 64, () => {
    reads++;
    return 0;
  });
  for (let i = 0; i < 1000; i++) tuner.ended(false);
  // A clock that stands still: a window never ends, and the tuner looks
  // again at doubling counts of tasks.
  assert(reads <= 12, `${reads} reads`);
  assert.equal(tuner.limit, 1);
});
