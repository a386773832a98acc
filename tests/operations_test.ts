import assert from "node:assert/strict";
import { kernel, type Operation, Operations, ProcessPool, StageError, WorkerPool } from "../mod.ts";
import { probeMeta } from "../src/operations/_meta_probe.ts";

const FIXTURE = new URL("./fixtures/operation_kernels.ts", import.meta.url);
const op = (name: string, meta?: Record<string, unknown>) => kernel(FIXTURE, name, meta);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

Deno.test("Accumulator gives running sums in order while a stateless negation runs on several workers", async () => {
  await using ops = new Operations<number, number>([
    op("Accumulator"),
    op("negate", { batchSize: 8 }),
  ], { nCpu: 2 });
  const out = await Array.fromAsync(ops.apply(range(1, 100)));
  let sum = 0;
  assert.deepEqual(out, range(1, 100).map((x) => -(sum += x)));
  const stats = ops.stats();
  assert.deepEqual(stats.operations.map((o) => [o.name, o.runs]), [
    ["Accumulator", "dedicated worker"],
    ["negate", "pool"],
  ]);
  assert.equal(stats.dedicated.length, 1);
  assert.equal(stats.pool!.closed, true, "closed at the end of the stream");
  const busy = stats.pool!.workers.filter((w) => w.tasksDone > 0);
  assert(busy.length > 1, `the negation ran on ${busy.length} worker(s)`);
});

Deno.test("Difference2 stateful (in master) and stateless (windows of 3, in workers) agree", async () => {
  const inputs = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
  await using stateful = new Operations<number, number>([op("Difference2Stateful")]);
  await using stateless = new Operations<number, number>([op("difference2Stateless")], { nCpu: 2 });
  const a = await Array.fromAsync(stateful.apply(inputs));
  const b = await Array.fromAsync(stateless.apply(inputs));
  const expected = inputs.slice(2).map((z, i) => z - inputs[i]!);
  assert.deepEqual(a, expected);
  assert.deepEqual(b, expected);
  assert.equal(stateful.stats().operations[0]!.runs, "master");
  assert.deepEqual(stateless.stats().operations[0]!.meta, {
    stateful: 3,
    batchSize: 4,
    runInMaster: false,
  });
});

Deno.test("inputs 0..10 with stateful: 2 give 10 windows; metadata from properties, instances and classes", async () => {
  for (const name of ["add", "Add", "Add2"]) {
    await using ops = new Operations<number, number>([op(name)], { nCpu: 1 });
    const out = await Array.fromAsync(ops.apply(range(0, 10)));
    assert.deepEqual(out, range(0, 9).map((x) => 2 * x + 1), name);
    assert.deepEqual(ops.stats().operations[0]!.meta, {
      stateful: 2,
      batchSize: 10,
      runInMaster: false,
    });
  }
});

for (const batchSize of [1, 4]) {
  Deno.test(`batchSize ${batchSize} allows at most ${batchSize} calls in flight`, async () => {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    await using ops = new Operations<unknown, number>([op("gauge", { batchSize })], { nCpu: 4 });
    const inputs = range(0, 15).map((x) => ({ cells, x, ms: 10, until: batchSize }));
    assert.deepEqual(await Array.fromAsync(ops.apply(inputs)), range(0, 15));
    assert.equal(cells[1], batchSize);
  });
}

Deno.test("plain functions run on the main thread, in order", async () => {
  const seen: number[] = [];
  const record = (x: number) => {
    seen.push(x);
    return x * 10;
  };
  const half = Object.assign((x: number) => x / 2, { stateful: false, batchSize: 3 });
  await using ops = new Operations<number, number>([record, half]);
  assert.deepEqual(await Array.fromAsync(ops.apply([1, 2, 3])), [5, 10, 15]);
  assert.deepEqual(seen, [1, 2, 3]);
});

Deno.test("invalid metadata is rejected at construction; apply twice throws", async () => {
  for (const stateful of [0, -1, 1.5]) {
    assert.throws(
      () => new Operations([op("negate", { stateful })]),
      (e: unknown) =>
        e instanceof RangeError &&
        /stateful must be true, false or a positive integer/.test(e.message),
    );
  }
  assert.throws(() => new Operations([op("negate", { stateful: "yes" })]), TypeError);
  for (const batchSize of [0, -2, 2.5]) {
    assert.throws(() => new Operations([op("negate", { batchSize })]), RangeError);
  }
  assert.throws(() => new Operations([op("negate", { batchSize: "4" })]), TypeError);
  const fn = Object.assign((x: number) => x, { stateful: 0 });
  assert.throws(() => new Operations([fn]), RangeError);
  assert.throws(() => new Operations([op("negate", { runInMaster: "no" })]), TypeError);
  assert.throws(() => new Operations([]), TypeError);
  assert.throws(() => new Operations([42 as never]), /must be a kernel or a function/);
  assert.throws(() => new Operations([op("negate")], { nCpu: 0 }), RangeError);
  const ops = new Operations([(x: number) => x]);
  await ops.apply([1]).cancel();
  assert.throws(() => ops.apply([1]), /only once/);
});

Deno.test("an operation that throws ends the stream with an error naming it and the item, and closes its workers", async () => {
  const ops = new Operations<number, number>([op("Accumulator"), op("failOnFive")], { nCpu: 2 });
  await assert.rejects(Array.fromAsync(ops.apply([1, 1, 1, 2, 0, 3, 4])), (e: unknown) => {
    assert(e instanceof StageError);
    assert.equal(e.stage, "failOnFive");
    assert.equal(e.index, 3);
    assert.match(e.message, /five is not allowed/);
    return true;
  });
  const stats = ops.stats();
  assert.equal(stats.pool?.closed, true, "the shared pool is closed");
  assert.equal(stats.dedicated[0]?.closed, true, "the dedicated worker is closed");
});

Deno.test("a typo in a kernel's meta or in the options is a TypeError that suggests the key", () => {
  assert.throws(
    () => new Operations([op("negate", { statefull: false })]),
    {
      name: "TypeError",
      message:
        /^Cannot create Operations: meta of kernel "negate": unknown option "statefull" \(did you mean stateful\?\)/,
    },
  );
  assert.throws(() => new Operations([op("negate", { batchsize: 2 })]), /did you mean batchSize\?/);
  assert.throws(
    () => new Operations([op("negate")], { ncpu: 2 } as never),
    {
      name: "TypeError",
      message: /^Cannot create Operations: unknown option "ncpu" \(did you mean nCpu\?\)/,
    },
  );
});

Deno.test("invalid metadata on a kernel's export is rejected by the constructor, before any apply", () => {
  // A function's property, a static class field, an instance field.
  assert.throws(() => new Operations([op("negate"), op("batchZero")]), {
    name: "RangeError",
    message: new RegExp(
      `^Cannot create Operations: operation "batchZero" of ${FIXTURE.href}: ` +
        `batchSize must be a positive integer, got 0$`,
    ),
  });
  assert.throws(() => new Operations([op("StatefulYes")]), {
    name: "TypeError",
    message: /"StatefulYes" of .*: stateful must be true, false or a positive integer/,
  });
  assert.throws(() => new Operations([op("HalfBatch")]), {
    name: "RangeError",
    message:
      /"HalfBatch" of .*\(an instance's fields\): batchSize must be a positive integer, got 2.5/,
  });
  // What the kernel's meta gives wins, but the export's own values are still checked.
  assert.throws(() => new Operations([op("batchZero", { batchSize: 2 })]), RangeError);
  assert.throws(() => new Operations([op("NoCall")]), /"NoCall" of .*: the class has no call/);
  assert.throws(
    () => new Operations([op("notAFunction")]),
    { name: "TypeError", message: /"notAFunction" of .*: the export is not a function/ },
  );
  assert.throws(
    () => new Operations([op("nosuchExport")]),
    { name: "TypeError", message: /"nosuchExport" of .*: the module has no such export/ },
  );
  const missing = new URL("./fixtures/no_such_module.ts", import.meta.url);
  assert.throws(() => new Operations([kernel(missing, "f")]), {
    name: "TypeError",
    message: new RegExp(
      `^Cannot create Operations: operation "f" of ${missing.href}: importing the module failed`,
    ),
  });
});

Deno.test("the metadata of the exports is read at construction; a misspelt property of an export is not metadata", async () => {
  await using ops = new Operations<number, number>([
    op("misspelt"),
    op("difference2Stateless"),
    op("Add", { batchSize: 3 }),
    op("Difference2Stateful"),
  ]);
  assert.deepEqual(ops.stats().operations.map((o) => [o.name, o.runs, o.meta]), [
    ["misspelt", "dedicated worker", { stateful: true, batchSize: 1, runInMaster: false }],
    ["difference2Stateless", "pool", { stateful: 3, batchSize: 4, runInMaster: false }],
    ["Add", "pool", { stateful: 2, batchSize: 3, runInMaster: false }],
    ["Difference2Stateful", "master", { stateful: true, batchSize: 1, runInMaster: true }],
  ]);
  assert.equal(ops.stats().pool, undefined, "no pool before apply");
});

Deno.test("a kernel module that never finishes loading times out with an error naming it", () => {
  const module = new URL("./fixtures/operation_never_loads.ts", import.meta.url).href;
  assert.throws(
    () => probeMeta("Cannot create Operations", [{ module, exportName: "never" }], 200),
    {
      name: "Error",
      message: new RegExp(`did not load within 200 ms .*"never" of ${module}`),
    },
  );
});

Deno.test("two Operations with the same stateful class on the main thread keep separate state", async () => {
  const inputs = [3, 1, 4, 1, 5];
  const expected = [1, 0, 1];
  await using first = new Operations<number, number>([op("Difference2Stateful")]);
  await using second = new Operations<number, number>([op("Difference2Stateful")]);
  assert.deepEqual(await Array.fromAsync(first.apply(inputs)), expected);
  assert.deepEqual(await Array.fromAsync(second.apply(inputs)), expected);
});

const WHERE = new URL("./fixtures/where_kernels.ts", import.meta.url);
type Trail = { value: number; path: string[] };
const start = (x: number): Trail => ({ value: x, path: [] });

/** The chain of every kind of operation, and what it gives for 1..n. */
function trails(n: number): { ops: Operation[]; expected: number[]; poolTasks: number } {
  const ops: Operation[] = [
    start,
    kernel(WHERE, "TrailSum"),
    kernel(WHERE, "trailNegate"),
    kernel(WHERE, "TrailDouble"),
    kernel(WHERE, "trailPairs"),
    kernel(WHERE, "trailMaster"),
  ];
  let sum = 0;
  const doubled = range(1, n).map((x) => -2 * (sum += x));
  const expected = doubled.slice(1).map((x, i) => x + doubled[i]! + 1);
  return { ops, expected, poolTasks: n + n + (n - 1) };
}

Deno.test("with a pool of yours the stateless kernels (functions, a class, windows) run there; stateful and runInMaster stay; the pool stays open", async () => {
  await using pool = new WorkerPool({ size: 2, name: "mine" });
  const n = 40;
  const { ops, expected, poolTasks } = trails(n);
  const chain = new Operations<number, Trail>(ops, { pool });
  const out = await Array.fromAsync(chain.apply(range(1, n)));
  assert.deepEqual(out.map((t) => t.value), expected);
  for (const { path } of out) {
    assert.equal(path.length, 5, path.join(", "));
    assert.match(path[0]!, /^operation-TrailSum-\d+$/, "the stateful class: its dedicated worker");
    for (const on of path.slice(1, 4)) {
      assert.match(on, /^mine-\d+$/, "the stateless: the pool given");
    }
    assert.equal(path[4], "main", "runInMaster: the main thread");
  }
  assert.equal(pool.stats().tasksDone, poolTasks, "every stateless call ran on the pool given");
  const stats = chain.stats();
  assert.deepEqual(stats.operations.map((o) => o.runs), [
    "master",
    "dedicated worker",
    "pool",
    "pool",
    "pool",
    "master",
  ]);
  assert.equal(stats.pool?.name, "mine", "stats() reports the pool given");
  assert.equal(stats.dedicated.length, 1);
  assert.equal(stats.dedicated[0]!.closed, true, "its own workers close at the end");
  assert.equal(pool.stats().closed, false, "the pool given is left open");
  // Still usable: a second Operations on the same pool.
  await using again = new Operations<number, number>([op("negate")], { pool });
  assert.deepEqual(await Array.fromAsync(again.apply([1, 2])), [-1, -2]);
  assert.equal(pool.stats().tasksDone, poolTasks + 2);
});

Deno.test("a stateless class and a function run on a ProcessPool given as pool (the class's module readable)", async () => {
  // The class runs through Operations' kernel, which imports its module at
  // run time: the children need read access to it (a function export does not).
  const read = [new URL("./fixtures/", import.meta.url)];
  await using pool = new ProcessPool({ size: 2, name: "children", permissions: { read } });
  const double = kernel(WHERE, "TrailDouble");
  const negate = kernel(WHERE, "trailNegate");
  await using chain = new Operations<number, Trail>([start, double, negate], { pool });
  const out = await Array.fromAsync(chain.apply(range(1, 10)));
  assert.deepEqual(out.map((t) => t.value), range(1, 10).map((x) => -2 * x));
  assert.equal(pool.stats().tasksDone, 20);
  assert.equal(pool.stats().closed, false);
  // A function export is the kernel itself: the children preload it, no permission needed.
  await using bare = new ProcessPool({ size: 1, name: "bare" });
  await using functions = new Operations<number, Trail>([start, negate], { pool: bare });
  const negated = await Array.fromAsync(functions.apply([1, 2, 3]));
  assert.deepEqual(negated.map((t) => t.value), [-1, -2, -3]);
  assert.equal(bare.stats().tasksDone, 3);
});

Deno.test("a failing operation on a pool of yours ends the stream naming it; the pool stays open", async () => {
  await using pool = new WorkerPool({ size: 2, name: "mine" });
  const ops = new Operations<number, number>([op("failOnFive", { stateful: false })], { pool });
  await assert.rejects(Array.fromAsync(ops.apply([1, 5, 2])), (e: unknown) => {
    assert(e instanceof StageError);
    assert.equal(e.stage, "failOnFive");
    assert.equal(e.index, 1);
    return true;
  });
  assert.equal(pool.stats().closed, false);
  assert.equal(await pool.run(kernel<(x: number) => number>(FIXTURE, "negate"), 3), -3);
});

Deno.test("pool: not with nCpu, must be a pool, and a typo suggests it", () => {
  const pool = new WorkerPool({ size: 1 });
  try {
    assert.throws(() => new Operations([op("negate")], { nCpu: 2, pool }), {
      name: "TypeError",
      message: /^Cannot create Operations: give nCpu or pool, not both \(got nCpu 2 and a pool\)$/,
    });
    assert.throws(() => new Operations([op("negate")], { pool: "workers" as never }), {
      name: "TypeError",
      message:
        /^Cannot create Operations: pool must be a pool \(a WorkerPool, a ProcessPool, a NatsPool\.\.\.\), got "workers"$/,
    });
    assert.throws(() => new Operations([op("negate")], { pol: pool } as never), {
      name: "TypeError",
      message: /^Cannot create Operations: unknown option "pol" \(did you mean pool\?\)/,
    });
  } finally {
    pool.close();
  }
});
