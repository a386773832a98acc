import assert from "node:assert/strict";
import {
  action,
  Batch,
  Dataset,
  DatasetIndex,
  formatTrace,
  inbatchOptions,
  inbatchParallel,
  type Kernel,
  kernel,
  SkipBatch,
  StopPipeline,
  type TraceEvent,
  WorkerPool,
} from "../mod.ts";
import { poolsOf } from "../src/batch/_symbols.ts";
import { eventually, sleep } from "./_util.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const keysOf = (batches: Batch<number>[]) => batches.map((b) => [...b.indices]);

/** The seed's pipeline: three actions; batch 1 is slow in `action1` when `slowFirst`. */
class Seed extends Batch<number> {
  static slowFirst = false;
  done: string[] = [];
  @action
  async action1(): Promise<void> {
    await sleep(Seed.slowFirst && this.indices[0] === 0 ? 30 : 1);
    this.done.push("action1");
  }
  @action
  async action2(): Promise<void> {
    await sleep(1);
    this.done.push("action2");
  }
  @action
  action3(): void {
    this.done.push("action3");
  }
}

Deno.test("without prefetch the trace is exactly the seed's first listing", async () => {
  const events: TraceEvent[] = [];
  const pipeline = new Dataset(6, Seed).p.action1().action2().action3();
  const out = await Array.fromAsync(pipeline.genBatch(2, { trace: (e) => events.push(e) }));
  assert.deepEqual(keysOf(out), [[0, 1], [2, 3], [4, 5]]);
  assert.deepEqual(out[0]!.done, ["action1", "action2", "action3"]);
  const block = (n: number) => [
    `batch #${n} is created`,
    "    action 1 started",
    "    action 1 finished",
    "    action 2 started",
    "    action 2 finished",
    "    action 3 started",
    "    action 3 finished",
  ];
  assert.deepEqual(formatTrace(events), [...block(1), ...block(2), ...block(3)]);
  assert.deepEqual(events[1], { type: "action started", batch: 1, action: 1, name: "action1" });
});

Deno.test("with prefetch: 1, batch #2 starts early, at most 2 run, and order is kept", async () => {
  Seed.slowFirst = true;
  try {
    const events: TraceEvent[] = [];
    let inFlight = 0, most = 0;
    const pipeline = new Dataset(8, Seed).p.action1().action2().action3();
    const out: Seed[] = [];
    for await (
      const batch of pipeline.genBatch(2, {
        prefetch: 1,
        trace: (e) => {
          events.push(e);
          if (e.type === "batch created") most = Math.max(most, ++inFlight);
        },
      })
    ) {
      inFlight--;
      out.push(batch);
      await sleep(2); // the consumer works on it
    }
    assert.deepEqual(keysOf(out), [[0, 1], [2, 3], [4, 5], [6, 7]], "creation order");
    const at = (type: string, batch: number, action?: number) =>
      events.findIndex((e) => e.type === type && e.batch === batch && e.action === action);
    assert(
      at("batch created", 2) < at("action finished", 1, 1),
      "#2 made before #1's action 1 ends",
    );
    assert(at("action finished", 2, 3) < at("action finished", 1, 3), "#2 finished first");
    assert.equal(most, 2, "never more than 2 batches in flight");
    assert.match(formatTrace(events).join("\n"), /action 1 started for batch #2/);
  } finally {
    Seed.slowFirst = false;
  }
});

Deno.test("prefetch: 3 runs 4 batches at once", async () => {
  let now = 0, most = 0;
  class Busy extends Batch<number> {
    @action
    async work(): Promise<void> {
      most = Math.max(most, ++now);
      await sleep(5);
      now--;
    }
  }
  await new Dataset(16, Busy).p.work().run(2, { prefetch: 3 });
  assert.equal(most, 4);
});

Deno.test("prefetch: 2 runs the in-batch kernels of two batches at once on a pool of 2 workers", async () => {
  const fixtures = new URL("./fixtures/batch_kernels.ts", import.meta.url);
  class Meeting extends Batch<number> {
    out: unknown[] = [];
    first(): number[][] {
      return [[this.indices[0]!]];
    }
    keep(results: unknown[]): this {
      this.out = results;
      return this;
    }
    // One kernel call per batch: it waits inside until two calls have been
    // inside at once (or the gauge's patience runs out, then it leaves).
    @action
    @inbatchParallel({ init: "first", post: "keep", target: "workers" })
    meet(_item: number, _cells: Int32Array, _ms: number, _until: number): Kernel {
      return kernel(fixtures, "inside");
    }
  }
  await using pool = new WorkerPool({ size: 2 });
  const cells = new Int32Array(new SharedArrayBuffer(8));
  const run = new Dataset(8, Meeting).p.meet(cells, 0, 2).genBatch(2, { prefetch: 2, pool });
  const batches = await Array.fromAsync(run);
  assert.deepEqual(batches.map((b) => b.out), [[0], [2], [4], [6]]);
  assert.equal(cells[1], 2, "two batches' kernels were inside at once");
  assert.equal(cells[0], 0);
});

Deno.test("a locked action runs for one batch at a time, and a throw releases the lock", async () => {
  let inside = 0, most = 0, sharedInside = 0, sharedMost = 0;
  class Locked extends Batch<number> {
    @action({ useLock: true })
    async exclusive(): Promise<void> {
      most = Math.max(most, ++inside);
      try {
        await sleep(2);
        if (this.indices[0] === 2) throw new SkipBatch("skip the second batch");
      } finally {
        inside--;
      }
    }
    @action({ useLock: "disk" })
    async write(): Promise<void> {
      sharedMost = Math.max(sharedMost, ++sharedInside);
      await sleep(1);
      sharedInside--;
    }
    @action({ useLock: "disk" })
    async read(): Promise<void> {
      sharedMost = Math.max(sharedMost, ++sharedInside);
      await sleep(1);
      sharedInside--;
    }
  }
  const out = await Array.fromAsync(
    new Dataset(12, Locked).p.exclusive().write().read().genBatch(2, { prefetch: 3 }),
  );
  assert.deepEqual(keysOf(out), [[0, 1], [4, 5], [6, 7], [8, 9], [10, 11]]);
  assert.equal(most, 1, "never two batches in the locked action");
  assert.equal(sharedMost, 1, "actions sharing a lock name exclude each other");

  class Failing extends Batch<number> {
    @action({ useLock: true })
    async risky(): Promise<void> {
      await sleep(1);
      if (this.indices[0] === 0) throw new Error("first batch fails");
    }
  }
  await assert.rejects(
    Array.fromAsync(new Dataset(8, Failing).p.risky().genBatch(2, { prefetch: 3 })),
    /first batch fails/,
  );
});

Deno.test("4 items, size 3, 2 epochs: batches wrap unless dropLast", async () => {
  class Plain extends Batch<number> {}
  const p = new Dataset(4, Plain).p;
  assert.deepEqual(keysOf(await Array.fromAsync(p.genBatch(3, { nEpochs: 2 }))), [
    [0, 1, 2],
    [3, 0, 1],
    [2, 3],
  ]);
  assert.deepEqual(keysOf(await Array.fromAsync(p.genBatch(3, { nEpochs: 2, dropLast: true }))), [
    [0, 1, 2],
    [0, 1, 2],
  ]);
  assert.deepEqual(keysOf(await Array.fromAsync(p.genBatch(3))), [[0, 1, 2], [3]], "one epoch");
  assert.deepEqual(keysOf(await Array.fromAsync(p.genBatch(3, { nIters: 5 }))), [
    [0, 1, 2],
    [3, 0, 1],
    [2, 3, 0],
    [1, 2, 3],
    [0, 1, 2],
  ]);
});

Deno.test("a shuffle is redrawn every epoch, and a seed makes it reproducible", async () => {
  class Plain extends Batch<number> {}
  const p = new Dataset(20, Plain).p;
  const epochs = async (shuffle: boolean | number) =>
    keysOf(await Array.fromAsync(p.genBatch(20, { nEpochs: 3, shuffle })));
  const a = await epochs(42);
  for (const epoch of a) assert.deepEqual([...epoch].sort((x, y) => x - y), range(20));
  assert.notDeepEqual(a[0], a[1], "each epoch has its own order");
  assert.notDeepEqual(a[0], range(20), "shuffled");
  assert.deepEqual(await epochs(42), a, "the same seed gives the same batches");
  assert.notDeepEqual(await epochs(7), a, "another seed another order");
  assert.notDeepEqual(await epochs(true), await epochs(true));
});

Deno.test("bad numbers and options are RangeErrors and TypeErrors", () => {
  class Plain extends Batch<number> {}
  const p = new Dataset(4, Plain).p;
  assert.throws(
    () => p.genBatch(5),
    (e: unknown) =>
      e instanceof RangeError &&
      /batchSize 5 is larger than the dataset \(4 items\)/.test(e.message),
  );
  assert.throws(() => p.genBatch(2, { nEpochs: 1, nIters: 1 }), TypeError);
  for (const bad of [0, -1, 1.5]) {
    assert.throws(() => p.genBatch(bad), RangeError);
    assert.throws(() => p.genBatch(2, { nEpochs: bad }), RangeError);
    assert.throws(() => p.genBatch(2, { nIters: bad }), RangeError);
  }
  assert.throws(() => p.genBatch(2, { prefetch: -1 }), RangeError);
  assert.throws(() => p.genBatch(2, { shuffle: NaN }), {
    name: "TypeError",
    message: "genBatch: shuffle must be a boolean or a seed number, got NaN",
  });
  assert.throws(() => p.genBatch("2" as never), {
    name: "TypeError",
    message: 'genBatch: batchSize must be a positive integer, got "2"',
  });
  assert.throws(() => new DatasetIndex([]), RangeError);
  assert.throws(() => new DatasetIndex(["a", "b", "a"]), /key "a" appears twice/);
  assert.throws(() => new Dataset(0, Plain), RangeError);
});

Deno.test("a misspelt option is a TypeError naming the function and the closest option", async () => {
  class Plain extends Batch<number> {}
  const p = new Dataset(4, Plain).p;
  assert.throws(() => p.genBatch(2, { prefech: 2 } as never), {
    name: "TypeError",
    message: 'genBatch: unknown option "prefech" (did you mean prefetch?); the options are ' +
      "shuffle, nEpochs, nIters, dropLast, prefetch, trace, reportStatsInterval, onStats, pool",
  });
  await assert.rejects(p.nextBatch(2, { nEpoch: 1 } as never), {
    name: "TypeError",
    message: /^nextBatch: unknown option "nEpoch" \(did you mean nEpochs\?\)/,
  });
  await assert.rejects(p.run(2, { droplast: true } as never), {
    name: "TypeError",
    message: /^run: unknown option "droplast" \(did you mean dropLast\?\)/,
  });
  assert.throws(() => action({ uselock: true } as never), {
    name: "TypeError",
    message:
      '@action(options): unknown option "uselock" (did you mean useLock?); the options are useLock',
  });
  assert.throws(() => action({ useLock: "" }), {
    name: "TypeError",
    message: '@action(options): useLock must be a boolean or a non-empty lock name, got ""',
  });
  assert.throws(() => formatTrace([], { withBatches: true } as never), {
    name: "TypeError",
    message: /^formatTrace: unknown option "withBatches" \(did you mean withBatch\?\)/,
  });
});

Deno.test("a misspelt action is a clear runtime error (and a type error)", () => {
  assert.throws(
    // @ts-expect-error: Seed has no action "action4"
    () => new Dataset(4, Seed).p.action1().action4(),
    (e: unknown) =>
      e instanceof TypeError && /Seed has no action "action4"/.test(e.message) &&
      /action1, action2, action3/.test(e.message),
  );
});

Deno.test("nextBatch keeps its place, runs for ever by default, and ends with nIters", async () => {
  class Plain extends Batch<number> {}
  await using forever = new Dataset(4, Plain).p;
  const seen: number[][] = [];
  for (let i = 0; i < 6; i++) seen.push([...(await forever.nextBatch(3)).indices]);
  assert.deepEqual(seen, [[0, 1, 2], [3, 0, 1], [2, 3, 0], [1, 2, 3], [0, 1, 2], [3, 0, 1]]);
  const limited = new Dataset(4, Plain).p;
  assert.deepEqual([...(await limited.nextBatch(2, { nIters: 2 })).indices], [0, 1]);
  assert.deepEqual([...(await limited.nextBatch(2)).indices], [2, 3]);
  await assert.rejects(
    limited.nextBatch(2),
    (e: unknown) => e instanceof RangeError && /run out/.test(e.message),
  );
});

Deno.test("SkipBatch drops a batch, StopPipeline ends the run, other errors reach the consumer in order", async () => {
  const started: number[] = [];
  class Steered extends Batch<number> {
    seen = false;
    @action
    async check(): Promise<void> {
      started.push(this.indices[0]!);
      await sleep(this.indices[0] === 0 ? 10 : 1);
      if (this.indices[0] === 2) throw new SkipBatch();
      if (this.indices[0] === 6) throw new StopPipeline();
    }
    @action
    mark(): void {
      assert.notEqual(this.indices[0], 2, "a skipped batch reaches no later action");
      this.seen = true;
    }
  }
  const out = await Array.fromAsync(
    new Dataset(20, Steered).p.check().mark().genBatch(2, { prefetch: 1 }),
  );
  assert.deepEqual(keysOf(out), [[0, 1], [4, 5]]);
  assert(out.every((b) => b.seen));

  started.length = 0;
  class Broken extends Batch<number> {
    @action
    async check(): Promise<void> {
      started.push(this.indices[0]!);
      await sleep(this.indices[0] === 0 ? 15 : 1);
      if (this.indices[0] === 2) throw new Error("batch 2 is broken");
    }
  }
  const got: number[][] = [];
  await assert.rejects(async () => {
    for await (const b of new Dataset(20, Broken).p.check().genBatch(2, { prefetch: 2 })) {
      got.push([...b.indices]);
    }
  }, /batch 2 is broken/);
  assert.deepEqual(got, [[0, 1]], "the batch before the error came first");
  assert.deepEqual(started, [0, 2, 4], "no batch started after the error");
});

Deno.test("an action that returns a Batch hands it to the next action", async () => {
  class Doubled extends Batch<number> {
    @action
    twice(): Doubled {
      return new Doubled(this.indices.flatMap((i) => [i, i]));
    }
    @action
    keep(): string {
      return "not a batch: ignored";
    }
  }
  const out = await Array.fromAsync(new Dataset(4, Doubled).p.twice().keep().genBatch(2));
  assert.deepEqual(keysOf(out), [[0, 0, 1, 1], [2, 2, 3, 3]]);
});

Deno.test("an action that never ends cannot hang the consumer: errors and breaking out return", async () => {
  class Stuck extends Batch<number> {
    @action
    async work(): Promise<void> {
      if (this.indices[0] === 2) await new Promise(() => {}); // never settles
      if (this.indices[0] === 4) throw new Error("batch 4 failed");
    }
  }
  // Batch #2 never ends and #3 fails behind it: breaking out after #1 returns at once.
  const pipeline = new Dataset(12, Stuck).p.work();
  const seen: number[][] = [];
  for await (const batch of pipeline.genBatch(2, { prefetch: 3 })) {
    seen.push([...batch.indices]);
    break;
  }
  assert.deepEqual(seen, [[0, 1]]);
  // An error ahead of the stuck batch reaches the consumer at once.
  class FailFirst extends Batch<number> {
    @action
    async work(): Promise<void> {
      if (this.indices[0] === 0) throw new Error("first batch failed");
      await new Promise(() => {});
    }
  }
  await assert.rejects(
    Array.fromAsync(new Dataset(8, FailFirst).p.work().genBatch(2, { prefetch: 2 })),
    /first batch failed/,
  );
});

const WHERE = new URL("./fixtures/where_kernels.ts", import.meta.url);

/** Per item, addHere(item, offset) on a pool: the sum and the thread it ran on. */
class Where extends Batch<number> {
  out: { value: number; on: string }[] = [];
  items(): readonly number[] {
    return this.indices;
  }
  keep(results: { value: number; on: string }[]): this {
    this.out = results;
    return this;
  }
  @action
  @inbatchParallel({ init: "items", post: "keep", target: "workers" })
  add(_offset: number): Kernel {
    return kernel(WHERE, "addHere");
  }
}

Deno.test("genBatch, run and nextBatch with pool run the workers, processes and mpc in-batch calls there, and leave it open", async () => {
  await using pool = new WorkerPool({ size: 2, name: "mine" });
  const p = new Dataset(range(6), Where).p;
  let done = 0;
  for (const target of ["workers", "processes", "mpc"] as const) {
    const run = p.add(10, inbatchOptions({ target })).genBatch(3, { pool, prefetch: 1 });
    const batches = await Array.fromAsync(run);
    const out = batches.flatMap((b) => b.out);
    assert.deepEqual(out.map((o) => o.value), range(6).map((i) => i + 10), target);
    for (const { on } of out) assert.match(on, /^mine-\d+$/, `${target}: the pool given ran it`);
    assert.equal(pool.stats().tasksDone, done += 6, `${target}: every item on the pool given`);
    // The run lends the pool given for every kind, and makes none of its own.
    const pools = poolsOf(batches[0]!)!;
    assert.throws(() => pools.pool("workers"), /The batch run is over/);
    assert.throws(() => pools.pool("processes"), /The batch run is over/);
  }
  const ran: number[] = [];
  class Kept extends Where {
    override keep(results: { value: number; on: string }[]): this {
      ran.push(...results.map((r) => r.value));
      return super.keep(results);
    }
  }
  await new Dataset(range(6), Kept).p.add(1).run(2, { pool });
  assert.deepEqual(ran, range(6).map((i) => i + 1));
  assert.equal(pool.stats().tasksDone, done += 6);
  await using next = new Dataset(range(6), Where).p.add(2);
  const batch = await next.nextBatch(3, { pool, nIters: 1 });
  assert.deepEqual(batch.out.map((o) => o.value), [2, 3, 4]);
  assert.equal(pool.stats().tasksDone, done += 3);
  assert.equal(pool.stats().closed, false, "the pool given stays open");
});

Deno.test("a run that ends early withdraws its in-batch tasks from the pool given", async () => {
  class Held extends Batch<number> {
    items(): readonly number[] {
      return this.indices;
    }
    @action
    @inbatchParallel({ init: "items", target: "workers" })
    hold(_held: number, _cells: Int32Array): Kernel {
      return kernel(WHERE, "holdOn");
    }
  }
  await using pool = new WorkerPool({ size: 2, name: "mine" });
  // cells[0]: 0 holds item 1 in its kernel; cells[1]: calls that got there.
  const cells = new Int32Array(new SharedArrayBuffer(8));
  try {
    const run = new Dataset([0, 1], Held).p.hold(1, cells).genBatch(1, { pool, prefetch: 1 });
    const reader = run.getReader();
    const first = await reader.read();
    assert.deepEqual(first.value?.indices, [0]);
    await eventually(() => Atomics.load(cells, 1) === 1, "item 1 inside its kernel");
    await reader.cancel();
    // Its task is withdrawn: the worker holding it is replaced, not left to run it.
    await eventually(
      () => pool.stats().workers.every((w) => w.queueLength === 0),
      "the held task withdrawn from the pool",
    );
    assert.equal(pool.stats().closed, false);
    assert.equal(await pool.run(kernel<(x: number) => number>(WHERE, "holdOn"), 7), 7);
  } finally {
    Atomics.store(cells, 0, 1);
    Atomics.notify(cells, 0);
  }
});

Deno.test("pool must be a pool, and a misspelt pool is a TypeError suggesting it", () => {
  const p = new Dataset(4, Where).p;
  assert.throws(() => p.genBatch(2, { pool: {} as never }), {
    name: "TypeError",
    message:
      /^genBatch: pool must be a pool \(a WorkerPool, a ProcessPool, a NatsPool\.\.\.\), got/,
  });
  assert.throws(() => p.genBatch(2, { pol: 1 } as never), {
    name: "TypeError",
    message: /^genBatch: unknown option "pol" \(did you mean pool\?\)/,
  });
});
