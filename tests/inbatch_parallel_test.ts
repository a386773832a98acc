// @inbatchParallel: every init/post example of the seed
// (shared/seeds/batchflow_inbatch_parallel.md), translated, then the targets,
// nWorkers and the checks.

import assert from "node:assert/strict";
import { action } from "../src/batch/action.ts";
import { Batch } from "../src/batch/batch.ts";
import { Dataset } from "../src/batch/dataset.ts";
import {
  anyActionFailed,
  callArgs,
  closeInbatchPools,
  inbatchOptions,
  inbatchParallel,
  type Target,
} from "../src/batch/inbatch_parallel.ts";
import { actionInfo, bindPools, poolsOf } from "../src/batch/_symbols.ts";
import { standalonePools } from "../src/batch/_standalone_pools.ts";
import { isKernel, type Kernel, kernel } from "../src/exec/kernel.ts";
import { native } from "../src/exec/native.ts";
import { PoolSet } from "../src/exec/pool_set.ts";
import { ProcessPool } from "../src/exec/process_pool.ts";
import { WorkerPool } from "../src/exec/worker_pool.ts";
import { buildKernels, KERNELS } from "./_native.ts";
import { crunch } from "./fixtures/batch_kernels.ts";

const FIXTURES = new URL("./fixtures/batch_kernels.ts", import.meta.url);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls a decorated method with the action's arguments. TypeScript sees the
 * per-item signature the method was declared with; the call takes the
 * action's arguments and returns a promise.
 */
function call(batch: object, name: string, ...args: unknown[]): Promise<unknown> {
  const method = (batch as Record<string, unknown>)[name] as (...a: unknown[]) => Promise<unknown>;
  return method.apply(batch, args);
}

/** A batch class whose init and post log their arguments to `log`. */
function logging(log: unknown[][]) {
  return class Logging extends Batch<number> {
    _initDefault(...args: unknown[]): readonly number[] {
      log.push(["init", ...args]);
      return this.indices;
    }
    _postDefault(listOfRes: unknown[], ...args: unknown[]): this {
      log.push(["post", listOfRes, ...args]);
      return this;
    }
  };
}

/** A batch whose init gives its keys and whose post keeps the results in `out`. */
class Kept extends Batch<number> {
  out: unknown[] = [];
  _init(..._args: unknown[]): readonly unknown[] {
    return this.indices;
  }
  _post(results: unknown[], ..._args: unknown[]): this {
    this.out = results;
    return this;
  }
}

// Basic usage and "The simplest init just returns a sequence of indices".
class Indexed extends Kept {
  seen: number[] = [];

  @action
  @inbatchParallel({ init: "_init", post: "_post" })
  someAction(itemId?: number): number {
    this.seen.push(itemId!);
    return itemId! * 10;
  }
}

Deno.test("inbatchParallel() with init returning the indices calls the method once per item", async () => {
  const batch = new Indexed([3, 1, 4, 1, 5, 9, 2, 6, 5, 3]);
  assert.equal(await batch.someAction(), batch); // post returned the batch
  assert.deepEqual(batch.seen, [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]);
  assert.deepEqual(batch.out, [30, 10, 40, 10, 50, 90, 20, 60, 50, 30]);
  assert(actionInfo(Indexed.prototype.someAction), "@action above registers the wrapped method");
});

Deno.test("inbatchParallel() spreads an array entry as positional arguments", async () => {
  const calls: unknown[][] = [];
  class Positional extends Batch<string> {
    _data = { a: 1, b: 2 };
    _initDefault(): unknown[][] {
      const all = [];
      for (const item of this.indices) {
        const itemArgs = [this._data, item, "another", "one more"];
        all.push(itemArgs);
      }
      return all;
    }
    @inbatchParallel({ init: "_initDefault" })
    someAction(...args: unknown[]): void {
      calls.push(args);
    }
  }
  const batch = new Positional(["a", "b"]);
  assert.equal(await batch.someAction(), batch); // no post: the batch
  assert.deepEqual(calls, [
    [batch._data, "a", "another", "one more"],
    [batch._data, "b", "another", "one more"],
  ]);
  assert.equal(calls[0]![0], batch._data);
});

Deno.test("inbatchParallel() passes a plain object entry as one argument, and callArgs([], named) likewise", async () => {
  const calls: unknown[][] = [];
  class Named extends Batch<number> {
    _data = [7, 8];
    _initObjects(): object[] {
      return this.indices.map((item) => ({ data: this._data, item, arg1: "x", arg2: "y" }));
    }
    _initNamed(): unknown[] {
      return this.indices.map((item) => callArgs([], { data: this._data, item, arg1: "x" }));
    }
    @inbatchParallel({ init: "_initObjects" })
    fromObjects(...args: unknown[]): void {
      calls.push(args);
    }
    @inbatchParallel({ init: "_initNamed" })
    fromNamed(...args: unknown[]): void {
      calls.push(args);
    }
  }
  const batch = new Named([0, 1]);
  await batch.fromObjects();
  assert.deepEqual(calls.splice(0), [
    [{ data: [7, 8], item: 0, arg1: "x", arg2: "y" }],
    [{ data: [7, 8], item: 1, arg1: "x", arg2: "y" }],
  ]);
  await batch.fromNamed();
  assert.deepEqual(calls, [
    [{ data: [7, 8], item: 0, arg1: "x" }],
    [{ data: [7, 8], item: 1, arg1: "x" }],
  ]);
});

Deno.test("inbatchParallel() with callArgs(positional, named) passes both, named last", async () => {
  const calls: unknown[][] = [];
  class Both extends Batch<number> {
    _data = "data";
    _initDefault(): unknown[] {
      return this.indices.map((item) => callArgs([this._data, item], { arg1: 1, arg2: 2 }));
    }
    @inbatchParallel({ init: "_initDefault", target: "for" })
    someAction(data?: string, item?: number, named?: { arg1: number; arg2: number }): void {
      calls.push([data, item, named]);
    }
  }
  await new Both([5, 6]).someAction();
  assert.deepEqual(calls, [
    ["data", 5, { arg1: 1, arg2: 2 }],
    ["data", 6, { arg1: 1, arg2: 2 }],
  ]);
  // A two-element array is two arguments: there is no tuple ambiguity.
  assert.throws(() => callArgs("x" as never, {}), /positional must be an array, got "x"/);
  assert.throws(() => callArgs([], [] as never), /named must be an object, got an array/);
});

Deno.test("inbatchParallel() passes extra decorator keys to init and post", async () => {
  const log: unknown[][] = [];
  class Extra extends logging(log) {
    @inbatchParallel({ init: "_initDefault", post: "_postDefault", clearData: false })
    someMethod(item?: number): number {
      return item! + 1;
    }
    @inbatchParallel({ init: "_initDefault", post: "_postDefault", method: "one_method" })
    oneMethod(item?: number): number {
      return item! * 2;
    }
    @inbatchParallel({ init: "_initDefault", post: "_postDefault", method: "some_other_method" })
    someOtherMethod(item?: number): number {
      return -item!;
    }
    @inbatchParallel({ init: "_initDefault", post: "_postDefault" })
    plain(item?: number): number {
      return item!;
    }
  }
  const batch = new Extra([1, 2]);
  await batch.someMethod();
  await batch.oneMethod();
  await batch.someOtherMethod();
  await batch.plain();
  assert.deepEqual(log, [
    ["init", { clearData: false }],
    ["post", [2, 3], { clearData: false }],
    ["init", { method: "one_method" }],
    ["post", [2, 4], { method: "one_method" }],
    ["init", { method: "some_other_method" }],
    ["post", [-1, -2], { method: "some_other_method" }],
    ["init", {}],
    ["post", [1, 2], {}],
  ]);
});

Deno.test("inbatchParallel() passes the action's arguments to init, to each item after the entry's, and to post", async () => {
  const log: unknown[][] = [];
  class WithArgs extends logging(log) {
    @action
    @inbatchParallel({
      init: "_initDefault",
      post: "_postDefault",
      target: "for",
      argFromParallelDecorator: true,
    })
    someParallelAction(item: number, a: number, b: number, options: { myArg: number }): number {
      log.push(["item", item, a, b, options]);
      return item + a + b + options.myArg;
    }
  }
  await call(new WithArgs([0, 1]), "someParallelAction", 10, 12, { myArg: 12 });
  assert.deepEqual(log, [
    ["init", 10, 12, { myArg: 12 }, { argFromParallelDecorator: true }],
    ["item", 0, 10, 12, { myArg: 12 }],
    ["item", 1, 10, 12, { myArg: 12 }],
    ["post", [34, 35], 10, 12, { myArg: 12 }, { argFromParallelDecorator: true }],
  ]);
});

class Flaky extends Kept {
  async _item(itemId: number): Promise<number> {
    await sleep(10 - itemId); // later items finish first
    if (itemId === 2) throw new RangeError(`item ${itemId} is broken`);
    if (itemId === 4) throw "a string, not an Error";
    return itemId;
  }
  @action
  @inbatchParallel({ init: "_init", post: "_post", target: "async" })
  withPost(itemId?: number): Promise<number> {
    return this._item(itemId!);
  }
  @inbatchParallel({ init: "_init" })
  withoutPost(itemId?: number): Promise<number> {
    return this._item(itemId!);
  }
}

Deno.test("inbatchParallel() gives post the results in init order with an Error for each failed item", async () => {
  const batch = new Flaky([0, 1, 2, 3, 4, 5]);
  await batch.withPost();
  const results = batch.out;
  assert.deepEqual([results[0], results[1], results[3], results[5]], [0, 1, 3, 5]);
  assert(results[2] instanceof RangeError);
  assert.equal(results[2].message, "item 2 is broken");
  assert(results[4] instanceof Error);
  assert.match(results[4].message, /"withPost": item 4 threw "a string, not an Error"/);
  assert.equal(results[4].cause, "a string, not an Error");
  assert.equal(anyActionFailed(results), true);
  assert.equal(anyActionFailed([0, 1, undefined, null, "Error"]), false);
});

Deno.test("inbatchParallel() without post throws a failure, and an AggregateError for several", async () => {
  await assert.rejects(new Flaky([0, 1, 2]).withoutPost(), RangeError, "item 2 is broken");
  await assert.rejects(new Flaky([2, 3, 4]).withoutPost(), (error: unknown) => {
    assert(error instanceof AggregateError);
    assert.match(error.message, /"withoutPost": 2 of 3 items failed; the first: item 2 is broken/);
    assert.equal(error.errors.length, 2);
    return true;
  });
  const fine = new Flaky([0, 1, 3]);
  assert.equal(await fine.withoutPost(), fine);
});

/** A batch whose `visit` counts the items in flight. */
function counting(target: Target) {
  const state = { inside: 0, most: 0, args: [] as unknown[][] };
  class Counted extends Batch<number> {
    _init(...args: unknown[]): readonly number[] {
      state.args.push(["init", ...args]);
      return this.indices;
    }
    _post(_results: unknown[], ...args: unknown[]): this {
      state.args.push(["post", ...args]);
      return this;
    }
    @action
    @inbatchParallel({ init: "_init", post: "_post", target })
    async visit(...args: unknown[]): Promise<void> {
      if (args.length !== 1) state.args.push(["visit", ...args]);
      state.most = Math.max(state.most, ++state.inside);
      await sleep(1 + (Number(args[0]) % 3));
      state.inside--;
    }
  }
  return { batch: new Counted(Array.from({ length: 12 }, (_, i) => i)), state };
}

for (const target of ["threads", "async", "for"] as const) {
  Deno.test(`inbatchParallel() with target "${target}" never runs more than nWorkers: 3 items at once`, async () => {
    const { batch, state } = counting(target);
    await batch.visit(inbatchOptions({ nWorkers: 3 }));
    assert.equal(state.most, 3);
    assert.equal(state.inside, 0);
    // The marker reaches neither init, post nor the method.
    assert.deepEqual(state.args, [["init", {}], ["post", {}]]);
  });
}

Deno.test("inbatchParallel() defaults: threads 4 × cores, async unlimited, for one at a time", async () => {
  const cores = navigator.hardwareConcurrency;
  const threads = counting("threads");
  await threads.batch.visit();
  assert.equal(threads.state.most, Math.min(12, 4 * cores));
  const unlimited = counting("async");
  await unlimited.batch.visit();
  assert.equal(unlimited.state.most, 12);
  const sequential = counting("for");
  await sequential.batch.visit();
  assert.equal(sequential.state.most, 1);
  const overridden = counting("async");
  await overridden.batch.visit(inbatchOptions({ target: "for" }));
  assert.equal(overridden.state.most, 1);
});

/** The same crunch, per item on the event loop (`for`) and as a kernel on the other targets. */
class Crunched extends Kept {
  @action
  @inbatchParallel({ init: "_init", post: "_post", target: "for" })
  local(seed: number, offset?: number): number {
    return crunch(seed) + (offset ?? 0);
  }
  @action
  @inbatchParallel({ init: "_init", post: "_post", target: "workers" })
  inPool(_offset?: number): Kernel {
    // Per item, crunchWith(seed) or crunchWith(seed, offset): what `local` gets.
    return kernel(FIXTURES, "crunchWith");
  }
}

const SEEDS = Array.from({ length: 8 }, (_, i) => i * 7919);

for (const target of ["workers", "processes", "mpc"] as const) {
  Deno.test(`inbatchParallel() with target "${target}" computes what "for" does, in one pool shared by batches outside a run`, async () => {
    const expected = new Crunched(SEEDS);
    await call(expected, "local");
    const withOffset = new Crunched(SEEDS);
    await call(withOffset, "local", 5);
    assert.deepEqual(withOffset.out, (expected.out as number[]).map((x) => x + 5));

    // Outside a pipeline: two batches, two calls, one pool (not a pool per
    // call), which closeInbatchPools() closes.
    try {
      const first = new Crunched(SEEDS);
      await call(first, "inPool", inbatchOptions({ target }));
      assert.deepEqual(first.out, expected.out);
      const second = new Crunched(SEEDS);
      await call(second, "inPool", 5, inbatchOptions({ target, nWorkers: 1 }));
      assert.deepEqual(second.out, withOffset.out);
      const pool = standalonePools().pool(target === "workers" ? "workers" : "processes");
      assert.equal(pool.constructor, target === "workers" ? WorkerPool : ProcessPool);
      assert.equal(pool.stats().tasksDone, 2 * SEEDS.length, "both calls ran in this pool");
      await closeInbatchPools();
      assert.equal(pool.stats().closed, true);
      await assert.rejects(pool.run(kernel<typeof crunch>(FIXTURES, "crunch"), 1), /was closed/);
    } finally {
      await closeInbatchPools();
    }
  });
}

for (const target of ["workers", "processes"] as const) {
  Deno.test(`inbatchParallel() with target "${target}" calls the kernel with the arguments the method would get per item`, async () => {
    class Spread extends Batch<number> {
      out: unknown[] = [];
      _init(): unknown[] {
        return [[1, "a"], callArgs([2], { named: true }), { plain: 3 }, [], 4];
      }
      _post(results: unknown[], ..._args: unknown[]): this {
        this.out = results;
        return this;
      }
      @inbatchParallel({ init: "_init", post: "_post", target: "for" })
      perItem(...args: unknown[]): unknown[] {
        return args;
      }
      @inbatchParallel({ init: "_init", post: "_post", target })
      inPool(_offset: number, _label: string): Kernel {
        return kernel(FIXTURES, "argumentsOf");
      }
    }
    const batch = new Spread([0]);
    await call(batch, "perItem", 10, "x");
    const expected = batch.out;
    assert.deepEqual(expected, [
      [1, "a", 10, "x"],
      [2, { named: true }, 10, "x"],
      [{ plain: 3 }, 10, "x"],
      [10, "x"],
      [4, 10, "x"],
    ]);
    await using pools = new PoolSet({ name: "spread", size: 2 });
    bindPools(batch, pools);
    await call(batch, "inPool", 10, "x");
    assert.deepEqual(batch.out, expected);
  });
}

Deno.test("inbatchParallel() with target workers keeps at most nWorkers items in the pool, and without it every worker busy", async () => {
  class Spinning extends Kept {
    @inbatchParallel({ init: "_init", target: "workers" })
    spin(_cells: Int32Array, _ms: number, _until?: number): Kernel {
      return kernel(FIXTURES, "inside");
    }
  }
  await using pools = new PoolSet({ name: "spinning", size: 4 });
  const batch = new Spinning([0, 1, 2, 3, 4, 5]);
  bindPools(batch, pools);
  for (const nWorkers of [1, 2]) {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    await call(batch, "spin", cells, 5, inbatchOptions({ nWorkers }));
    assert.equal(cells[0], 0);
    assert(cells[1]! >= 1 && cells[1]! <= nWorkers, `${cells[1]} at once, nWorkers ${nWorkers}`);
  }
  // No nWorkers: the pool's own default; each call waits until 4 are inside at once.
  const busy = new Spinning([0, 1, 2, 3]);
  bindPools(busy, pools);
  const cells = new Int32Array(new SharedArrayBuffer(8));
  await call(busy, "spin", cells, 1, 4);
  assert.equal(cells[1], 4, "the 4 workers were busy at once");
});

Deno.test("inbatchParallel() runs kernels in the pools of the run holding the batch, and leaves them open", async () => {
  await using pools = new PoolSet({ name: "run" });
  const first = new Crunched(SEEDS);
  const second = new Crunched(SEEDS.slice(0, 3));
  bindPools(first, pools);
  bindPools(second, pools);
  await first.inPool();
  await second.inPool();
  assert.equal(pools.pool("workers").stats().tasksDone, SEEDS.length + 3);
  assert.deepEqual(second.out, SEEDS.slice(0, 3).map(crunch));
});

Deno.test("inbatchParallel() in a pipeline run uses the run's pools and closes them with it", async () => {
  const run = new Dataset(SEEDS, Crunched).p.inPool(1).genBatch(4, { prefetch: 1 });
  const batches = await Array.fromAsync(run);
  assert.deepEqual(batches.flatMap((b) => b.out), SEEDS.map((seed) => crunch(seed) + 1));
  const pools = poolsOf(batches[0]!);
  assert(pools !== undefined && pools === poolsOf(batches[1]!), "one run, one set of pools");
  assert.throws(() => pools.pool("workers"), /closed/);
});

Deno.test("inbatchParallel() puts a kernel's error in place of its item and rejects a method returning no kernel", async () => {
  class Kernels extends Kept {
    @inbatchParallel({ init: "_init", post: "_post", target: "workers" })
    picky(): Kernel {
      return kernel(FIXTURES, "notThree");
    }
    @inbatchParallel({ init: "_init", target: "processes" })
    notAKernel(): unknown {
      return (x: number) => x;
    }
  }
  const batch = new Kernels([1, 2, 3, 4]);
  try {
    await batch.picky();
  } finally {
    await closeInbatchPools();
  }
  assert.deepEqual([batch.out[0], batch.out[1], batch.out[3]], [1, 2, 4]);
  assert(batch.out[2] instanceof Error);
  assert.match(batch.out[2].message, /item 3 is not welcome/);
  assert(anyActionFailed(batch.out));
  assert(isKernel(kernel(FIXTURES, "crunch")));
  await assert.rejects(
    call(batch, "notAKernel"),
    TypeError,
    '"notAKernel" with target "processes": the method must return a kernel made by kernel(module, exportName), got a function',
  );
});

Deno.test("inbatchParallel() with target nogil runs a nonblocking native function per item", async () => {
  await using built = await buildKernels();
  using lib = native(built.path, KERNELS);
  class Burnt extends Kept {
    override _init(iters: number): number[][] {
      return this.indices.map((x) => [x, iters]);
    }
    @action
    @inbatchParallel({ init: "_init", post: "_post", target: "nogil" })
    burn(_iters?: number): (x: number, iters: number) => Promise<number> {
      return lib.symbols.burn;
    }
    @inbatchParallel({ init: "_init", target: "nogil" })
    notAFunction(_iters?: number): unknown {
      return kernel(FIXTURES, "crunch");
    }
  }
  const batch = new Burnt([0.5, 1, 2, 3, 4, 5]);
  await call(batch, "burn", 100_000, inbatchOptions({ nWorkers: 2 }));
  assert.deepEqual(batch.out, batch.indices.map((x) => lib.symbols.burn_sync(x, 100_000)));
  await assert.rejects(
    call(batch, "notAFunction", 1),
    TypeError,
    '"notAFunction" with target "nogil": the method must return a function',
  );
});

Deno.test("inbatchParallel() takes an async init and any iterable of entries", async () => {
  const calls: unknown[] = [];
  class Async extends Batch<number> {
    async _init(): Promise<Set<number>> {
      await sleep(1);
      return new Set(this.indices);
    }
    @inbatchParallel({ init: "_init" })
    visit(item?: number): void {
      calls.push(item);
    }
  }
  await new Async([1, 1, 2]).visit();
  assert.deepEqual(calls, [1, 2]);
});

Deno.test("inbatchParallel() rejects bad options when the class is defined", () => {
  const cases: [unknown, RegExp][] = [
    [undefined, /options must be an object, got undefined/],
    [{}, /init must be the name of a batch method, got undefined/],
    [{ init: 42 }, /init must be the name of a batch method, got 42/],
    [{ init: "" }, /init must be the name of a batch method, got ""/],
    [{ init: "i", post: 1 }, /post must be the name of a batch method, got 1/],
    [{ init: "i", target: "gpu" }, /target must be one of "threads", .*"nogil", got "gpu"/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => inbatchParallel(options as never), TypeError);
    assert.throws(() => inbatchParallel(options as never), message);
  }
  assert.throws(() => {
    class Static extends Batch {
      @inbatchParallel({ init: "i" })
      static visit(): void {}
    }
    return Static;
  }, /applies to instance methods, not to static method/);
});

Deno.test("inbatchParallel() rejects a missing init or post method, a non-iterable init result, and bad per-call options", async () => {
  class Broken extends Batch<number> {
    _number(): number {
      return 3;
    }
    _string(): string {
      return "abc";
    }
    _init(): readonly number[] {
      return this.indices;
    }
    @inbatchParallel({ init: "_missing" })
    noInit(): void {}
    @inbatchParallel({ init: "_init", post: "_missing" })
    noPost(): void {}
    @inbatchParallel({ init: "_number" })
    numberInit(): void {}
    @inbatchParallel({ init: "_string" })
    stringInit(): void {}
  }
  const batch = new Broken([1]);
  await assert.rejects(
    call(batch, "noInit"),
    TypeError,
    '"noInit": init "_missing" is not a method of Broken, got undefined',
  );
  await assert.rejects(
    call(batch, "noPost"),
    TypeError,
    'post "_missing" is not a method of Broken',
  );
  await assert.rejects(
    call(batch, "numberInit"),
    TypeError,
    'init "_number" must return an iterable of entries (an array, a Set...), got 3',
  );
  await assert.rejects(call(batch, "stringInit"), TypeError, 'got "abc"');
  for (const nWorkers of [0, -1, 1.5, NaN]) {
    assert.throws(
      () => inbatchOptions({ nWorkers }),
      RangeError,
      `nWorkers must be a positive integer or Infinity, got ${nWorkers}`,
    );
  }
  assert.throws(() => inbatchOptions({ nWorkers: "3" as never }), TypeError);
  assert.throws(() => inbatchOptions({ target: "gpu" as never }), TypeError, 'got "gpu"');
  assert.throws(
    () => inbatchOptions({ nWorker: 3 } as never),
    TypeError,
    'inbatchOptions(): unknown option "nWorker" (did you mean nWorkers?); the options are nWorkers, target, pool',
  );
  assert.throws(() => inbatchOptions({ pools: 1 } as never), {
    name: "TypeError",
    message: /^inbatchOptions\(\): unknown option "pools" \(did you mean pool\?\)/,
  });
  assert.throws(() => inbatchOptions({ pool: "workers" as never }), {
    name: "TypeError",
    message:
      /^inbatchOptions\(\): pool must be a pool \(a WorkerPool, a ProcessPool, a NatsPool\.\.\.\), got "workers"$/,
  });
  assert.throws(() => inbatchOptions(null as never), TypeError, "options must be an object");
  assert.equal(inbatchOptions({ nWorkers: Infinity }).options.nWorkers, Infinity);
});

const WHERE = new URL("./fixtures/where_kernels.ts", import.meta.url);

Deno.test("inbatchOptions({ pool }) runs one call's kernel items on that pool, before the run's pool", async () => {
  type Out = { value: number; on: string };
  class Where extends Batch<number> {
    first: Out[] = [];
    second: Out[] = [];
    _init(): readonly number[] {
      return this.indices;
    }
    _first(results: Out[]): this {
      this.first = results;
      return this;
    }
    _second(results: Out[]): this {
      this.second = results;
      return this;
    }
    @action
    @inbatchParallel({ init: "_init", post: "_first", target: "workers" })
    addFirst(_offset: number): Kernel {
      return kernel(WHERE, "addHere");
    }
    @action
    @inbatchParallel({ init: "_init", post: "_second", target: "processes" })
    addSecond(_offset: number): Kernel {
      return kernel(WHERE, "addHere");
    }
  }
  await using mine = new WorkerPool({ size: 2, name: "mine" });
  await using theirs = new WorkerPool({ size: 1, name: "theirs" });
  // A batch on its own: the call's pool, not the shared ones.
  const alone = new Where([1, 2, 3]);
  await call(alone, "addFirst", 10, inbatchOptions({ pool: mine }));
  assert.deepEqual(alone.first.map((o) => o.value), [11, 12, 13]);
  for (const { on } of alone.first) assert.match(on, /^mine-\d+$/);
  assert.equal(mine.stats().tasksDone, 3);
  // In a run given `theirs`: the call that names `mine` runs there, the other on `theirs`.
  const run = new Dataset([4, 5], Where).p
    .addFirst(1, inbatchOptions({ pool: mine }))
    .addSecond(2)
    .genBatch(2, { pool: theirs });
  const [batch] = await Array.fromAsync(run);
  assert.deepEqual(batch!.first.map((o) => o.value), [5, 6]);
  assert.deepEqual(batch!.second.map((o) => o.value), [6, 7]);
  for (const { on } of batch!.first) assert.match(on, /^mine-\d+$/);
  for (const { on } of batch!.second) assert.match(on, /^theirs-\d+$/);
  assert.equal(mine.stats().tasksDone, 5);
  assert.equal(theirs.stats().tasksDone, 2);
  assert.equal(mine.stats().closed || theirs.stats().closed, false, "both left open");
});
