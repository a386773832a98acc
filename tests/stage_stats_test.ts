// Stand-alone stages report the statistics a pipeline's stages do: busy
// time, task latency, occupancy and fullness of the output buffer, what it
// holds, and tasks in flight against the stage's concurrency.

import assert from "node:assert/strict";
import {
  batch,
  kernel,
  kernelStage,
  map,
  PipelineBuilder,
  prefetch,
  type StageStats,
  type StageStream,
  unbatch,
  window,
  WorkerPool,
} from "../mod.ts";
import type * as k from "./fixtures/kernels.ts";
import { eventually, modes, settle } from "./_util.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const square = kernel<typeof k.square>(new URL("./fixtures/kernels.ts", import.meta.url), "square");

/** Keeps the thread busy for `ms`: a task that takes at least that long. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

const FIELDS = [
  "buffered",
  "busyMs",
  "concurrency",
  "failures",
  "fullness",
  "inFlight",
  "itemsIn",
  "itemsOut",
  "latencyMs",
  "name",
  "occupancy",
];

/** Checks what holds of any stage's statistics. */
function wellFormed(stats: StageStats): void {
  assert.deepEqual(Object.keys(stats).sort(), FIELDS);
  for (const share of [stats.occupancy, stats.fullness]) {
    assert.ok(share >= 0 && share <= 1, `a share of time between 0 and 1, got ${share}`);
  }
  assert.ok(stats.fullness <= stats.occupancy, "full only while holding items");
  assert.ok(stats.busyMs >= 0 && stats.buffered >= 0);
  const l = stats.latencyMs;
  if (l !== undefined) assert.ok(l.p50 <= l.p90 && l.p90 <= l.p99, JSON.stringify(l));
}

/** Reads `reader` to its end. */
async function rest<T>(reader: ReadableStreamDefaultReader<T>): Promise<T[]> {
  const out: T[] = [];
  for (let r = await reader.read(); !r.done; r = await reader.read()) out.push(r.value);
  return out;
}

for (const { name, from, pipe, collect } of modes) {
  Deno.test(`map() reports the busy time and latency of its tasks and its concurrency (${name})`, async () => {
    const stage = map(async (x: number) => {
      spin(2);
      await Promise.resolve();
      return x;
    }, { concurrency: 3, name: "slow" });
    assert.deepEqual(stage.stats(), {
      name: "slow",
      itemsIn: 0,
      itemsOut: 0,
      failures: 0,
      inFlight: 0,
      concurrency: 3,
      busyMs: 0,
      latencyMs: undefined,
      occupancy: 0,
      fullness: 0,
      buffered: 0,
    });
    assert.deepEqual(await collect(pipe(from(range(6)), stage)), range(6));
    const stats = stage.stats();
    wellFormed(stats);
    assert.deepEqual(
      [stats.itemsIn, stats.itemsOut, stats.failures, stats.inFlight, stats.buffered],
      [6, 6, 0, 0, 0],
    );
    assert.equal(stats.concurrency, 3);
    assert.ok(stats.busyMs >= 6 * 2, `six tasks of 2 ms or more, busy ${stats.busyMs} ms`);
    assert.ok(stats.latencyMs !== undefined && stats.latencyMs.p50 >= 2, `${stats.latencyMs}`);
  });

  Deno.test(`map() reports its tasks in flight, and times failed tasks too (${name})`, async () => {
    const gate = Promise.withResolvers<void>();
    const stage = map(async (x: number) => {
      await gate.promise;
      spin(1);
      if (x === 1) throw new Error("one");
      return x;
    }, { concurrency: 2, onError: "skip" });
    const out = collect(pipe(from(range(4)), stage));
    await eventually(() => stage.stats().inFlight === 2, "two tasks in flight");
    let stats = stage.stats();
    assert.deepEqual([stats.inFlight, stats.concurrency, stats.busyMs], [2, 2, 0]);
    assert.equal(stats.latencyMs, undefined, "no task finished yet");
    gate.resolve();
    assert.deepEqual(await out, [0, 2, 3]);
    stats = stage.stats();
    wellFormed(stats);
    assert.equal(stats.failures, 1);
    assert.ok(
      stats.busyMs >= 4 * 1,
      `four tasks of 1 ms or more, the failed one too: ${stats.busyMs}`,
    );
  });

  Deno.test(`map() with a consumer that stopped reading reports its output buffer full (${name})`, async () => {
    const stage = map((x: number) => x, { concurrency: 2 });
    const reader = pipe(from(range(10)), stage).getReader();
    await eventually(() => stage.stats().buffered === 2, "the output buffer to fill");
    await settle(); // some time passes while it is full
    let stats = stage.stats();
    wellFormed(stats);
    assert.ok(stats.fullness > 0, `fullness ${stats.fullness}`);
    assert.ok(stats.occupancy >= stats.fullness);
    assert.deepEqual(await rest(reader), range(10));
    stats = stage.stats();
    assert.equal(stats.buffered, 0, "everything was read");
    assert.equal(stats.itemsOut, 10);
  });

  Deno.test(`stages in a chain each report what their output buffer holds (${name})`, async () => {
    const first = map((x: number) => x * 2, { concurrency: 2 });
    const ahead = prefetch<number>(4);
    const reader = pipe(pipe(from(range(20)), first), ahead).getReader();
    await eventually(
      () => ahead.stats().buffered === 4 && first.stats().buffered === 2,
      "both buffers to fill",
    );
    await settle();
    for (const stage of [first, ahead] as StageStream<number, number>[]) {
      const stats = stage.stats();
      wellFormed(stats);
      assert.ok(stats.fullness > 0, `${stats.name}: fullness ${stats.fullness}`);
    }
    assert.deepEqual(await rest(reader), range(20).map((x) => x * 2));
    assert.deepEqual([first.stats().buffered, ahead.stats().buffered], [0, 0]);
  });

  Deno.test(`batch(), prefetch(), unbatch() and window() report their output buffers (${name})`, async () => {
    const stages = {
      batch: batch<number>(2),
      prefetch: prefetch<number>(3),
      window: window<number>(2),
    };
    const readers = Object.values(stages).map((s) =>
      pipe(from(range(10)), s as TransformStream<number, unknown>).getReader()
    );
    const capacity = { batch: 1, prefetch: 3, window: 1 };
    await eventually(
      () => Object.entries(stages).every(([k, s]) => s.stats().buffered === capacity[k as "batch"]),
      "every output buffer to fill",
    );
    // One chunk of five: unbatch gives all five at once, past its buffer of one.
    const flat = unbatch<number>();
    const flatReader = pipe(from([range(5)]), flat).getReader();
    await eventually(() => flat.stats().buffered === 5, "unbatch to give the five");
    await settle();
    for (const stage of [...Object.values(stages), flat] as StageStream<never, unknown>[]) {
      const stats = stage.stats();
      wellFormed(stats);
      assert.ok(stats.fullness > 0, `${stats.name}: fullness ${stats.fullness}`);
      // No tasks of their own: no latency, one at a time.
      assert.deepEqual(
        [stats.busyMs, stats.latencyMs, stats.inFlight, stats.concurrency],
        [0, undefined, 0, 1],
      );
    }
    const outs = await Promise.all([...readers, flatReader].map((r) => rest<unknown>(r)));
    assert.deepEqual(outs.map((o) => o.length), [5, 10, 9, 5]);
    for (const stage of [...Object.values(stages), flat] as StageStream<never, unknown>[]) {
      assert.equal(stage.stats().buffered, 0, `${stage.name}: everything was read`);
    }
  });
}

Deno.test("pool.map() and kernelStage() report the same statistics as map()", async () => {
  await using pool = new WorkerPool({ size: 2 });
  const stages = {
    adaptive: pool.map(square),
    bounded: pool.map(square, { concurrency: 3 }),
    kernelStage: kernelStage(square, pool),
    main: kernelStage(square, "main", { concurrency: 2 }),
  };
  for (const stage of Object.values(stages)) {
    const out = await Array.fromAsync(ReadableStream.from(range(50)).pipeThrough(stage));
    assert.deepEqual(out, range(50).map((x) => x * x));
    const stats = stage.stats();
    wellFormed(stats);
    assert.deepEqual([stats.itemsIn, stats.itemsOut, stats.inFlight], [50, 50, 0]);
    assert.ok(stats.busyMs > 0, `${stats.name}: busy ${stats.busyMs}`);
    assert.notEqual(stats.latencyMs, undefined);
  }
  // Without a concurrency, a pool's stage reports the pool's workers.
  assert.deepEqual(
    Object.entries(stages).map(([k, s]) => [k, s.stats().concurrency]),
    [["adaptive", 2], ["bounded", 3], ["kernelStage", 2], ["main", 2]],
  );
});

Deno.test("a pipeline reports each stage's own statistics, with its kind", async () => {
  const alone = map((x: number) => x);
  await Array.fromAsync(ReadableStream.from([1]).pipeThrough(alone));
  await using pipeline = new PipelineBuilder()
    .addSource(range(10))
    .pipe((x: number) => x + 1, { concurrency: 3 })
    .aggregate(4)
    .addSink(2)
    .build();
  assert.equal((await Array.fromAsync(pipeline)).length, 3);
  const stages = pipeline.stats().stages;
  for (const s of stages) {
    assert.deepEqual(Object.keys(s).sort(), [...Object.keys(alone.stats()), "kind"].sort());
  }
  assert.deepEqual(stages.map((s) => [s.kind, s.concurrency]), [
    ["pipe", 3],
    ["aggregate", 1],
    ["sink", 1],
  ]);
});
