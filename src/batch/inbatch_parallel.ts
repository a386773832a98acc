/**
 * `@inbatchParallel`: a batch method that runs once per item, in parallel,
 * on the event loop, in a pool of workers or processes, or in native code.
 *
 * @module
 */

import { show } from "../_internal/validate.ts";
import type { Pool } from "../exec/pool_types.ts";
import { methodName } from "./action.ts";
import { callInbatch, callOptions, decoratorOptions } from "./_inbatch_call.ts";
import { closeStandalonePools } from "./_standalone_pools.ts";

/**
 * Where the items of an `@inbatchParallel` call run. `"threads"`, `"async"`
 * and `"for"` call the method per item on the event loop (`"for"` one after
 * another); `"workers"`, `"processes"` (alias `"mpc"`) and `"nogil"` call it
 * once, and run what it returns (a kernel, or a nonblocking native function)
 * per item.
 *
 * @example Three targets on the event loop, one result
 * ```ts
 * import { action, Batch, Dataset, inbatchOptions, inbatchParallel, type Target } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Squares extends Batch<number> {
 *   out: number[] = [];
 *   items(): readonly number[] { return this.indices; }
 *   @action
 *   @inbatchParallel({ init: "items" })
 *   square(item: number): void { this.out.push(item ** 2); }
 * }
 * const targets: Target[] = ["threads", "async", "for"];
 * for (const target of targets) {
 *   const batches = new Dataset(3, Squares).p.square(inbatchOptions({ target })).genBatch(3);
 *   const [batch] = await Array.fromAsync(batches);
 *   assert.deepEqual(batch!.out.sort(), [0, 1, 4]);
 * }
 * ```
 */
export type Target = "threads" | "async" | "for" | "workers" | "processes" | "mpc" | "nogil";

/**
 * Options of `@inbatchParallel(...)`; any other key is passed on to `init` and `post`.
 *
 * @example An extra key for `init`, and a `post` that sums
 * ```ts
 * import { action, Batch, Dataset, inbatchParallel, type InbatchParallelOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const options: InbatchParallelOptions = {
 *   init: "items", post: "sum", target: "async", scale: 10,
 * };
 * class Prices extends Batch<number> {
 *   total = 0;
 *   items({ scale }: { scale: number }): number[] { return this.indices.map((i) => i * scale); }
 *   sum(results: number[]): this {
 *     this.total = results.reduce((a, b) => a + b, 0);
 *     return this;
 *   }
 *   @action
 *   @inbatchParallel(options)
 *   async price(amount: number): Promise<number> { return amount + 1; }
 * }
 * const [batch] = await Array.fromAsync(new Dataset(3, Prices).p.price().genBatch(3));
 * assert.equal(batch!.total, 33); // 1 + 11 + 21
 * assert.throws(() => inbatchParallel({ init: "items", target: "gpu" as never }), /target must be one of/);
 * ```
 */
export interface InbatchParallelOptions {
  /** The name of the batch method that gives one entry per parallel call. */
  init: string;
  /** The name of the batch method that gets the results; its return value is the call's. */
  post?: string;
  /**
   * Where the items run.
   *
   * @default {"threads"}
   */
  target?: Target;
  /** Extra keys, given to `init` and `post` as their last argument. */
  [extra: string]: unknown;
}

/**
 * Per-call options: `inbatchOptions({ nWorkers, target })` as an action call's last argument.
 *
 * @example One call in parallel where the decorator says one at a time
 * ```ts
 * import { action, Batch, Dataset, type InbatchOptions, inbatchOptions, inbatchParallel } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * let inside = 0, most = 0;
 * class Pages extends Batch<number> {
 *   items(): readonly number[] { return this.indices; }
 *   @action
 *   @inbatchParallel({ init: "items", target: "for" })
 *   async fetch(_page: number, _retries: number): Promise<void> {
 *     most = Math.max(most, ++inside);
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     inside--;
 *   }
 * }
 * const options: InbatchOptions = { target: "async", nWorkers: 3 };
 * await new Dataset(6, Pages).p.fetch(2, inbatchOptions(options)).run(6);
 * assert.equal(most, 3);
 * assert.throws(() => inbatchOptions({ nWorker: 3 } as InbatchOptions), /did you mean nWorkers\?/);
 * ```
 */
export interface InbatchOptions {
  /**
   * The most items in flight at once.
   *
   * @default {4 × cores for "threads", Infinity for "async", 1 for "for", the pool's adaptive default (every worker busy) for "workers" and "processes", the cores for "nogil"}
   */
  nWorkers?: number;
  /** Overrides the decorator's target for this call. */
  target?: Target;
  /**
   * A pool of yours for this call's items when its target is "workers", "processes" or "mpc"; left
   * open.
   *
   * @default {the run's pool (its `pool`, or its own), or the shared one outside a run}
   */
  pool?: Pool;
}

/**
 * An `init` entry with positional and named arguments: the method gets
 * `(...positional, named)`. `callArgs()` makes one (the public API exports
 * this class as a type only).
 *
 * @example An entry for `method(data, item, { scale })`
 * ```ts
 * import { type CallArgs, callArgs } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const entry: CallArgs = callArgs(["data", 3], { scale: 2 });
 * assert.deepEqual(entry.positional, ["data", 3]);
 * assert.deepEqual(entry.named, { scale: 2 });
 * ```
 */
export class CallArgs {
  /** The positional arguments. */
  readonly positional: readonly unknown[];
  /** The named arguments, passed as one object after the positional ones. */
  readonly named: Record<string, unknown>;

  /**
   * Makes an entry.
   *
   * @param positional The positional arguments.
   * @param named The named arguments (`{}` when left out).
   * @throws {TypeError} When `positional` is not an array or `named` not an object.
   */
  constructor(positional: readonly unknown[], named: Record<string, unknown> = {}) {
    if (!Array.isArray(positional)) {
      throw new TypeError(`callArgs(): positional must be an array, got ${show(positional)}`);
    }
    if (named === null || typeof named !== "object" || Array.isArray(named)) {
      throw new TypeError(`callArgs(): named must be an object, got ${show(named)}`);
    }
    this.positional = Object.freeze([...positional]);
    this.named = named;
  }
}

/**
 * An `init` entry with both positional and named arguments: the method is
 * called as `method(...positional, named, ...actionArgs)`. (A plain object
 * entry is one argument; an array entry is spread.)
 *
 * @param positional The positional arguments.
 * @param named The named arguments, as one object (`{}` when left out: the method still gets it).
 * @returns The entry.
 * @throws {TypeError} When `positional` is not an array or `named` not an object.
 *
 * @example Data, item, and named options
 * ```ts
 * import { action, Batch, callArgs, Dataset, inbatchParallel } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Scaled extends Batch<number> {
 *   data = [10, 20];
 *   out: number[] = [];
 *   init(): unknown[] {
 *     return this.indices.map((i) => callArgs([this.data, i], { scale: 3 }));
 *   }
 *   @action
 *   @inbatchParallel({ init: "init" })
 *   scale(data: number[], i: number, { scale }: { scale: number }): void {
 *     this.out[i] = data[i]! * scale;
 *   }
 * }
 * const [batch] = await Array.fromAsync(new Dataset(2, Scaled).p.scale().genBatch(2));
 * assert.deepEqual(batch!.out, [30, 60]);
 * ```
 */
export function callArgs(
  positional: readonly unknown[],
  named?: Record<string, unknown>,
): CallArgs {
  return new CallArgs(positional, named);
}

/**
 * Per-call options, recognised as the last argument of an action call;
 * `inbatchOptions()` makes one (the public API exports this class as a
 * type only).
 *
 * @example What it holds
 * ```ts
 * import { inbatchOptions, type InbatchOptionsMarker } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const marker: InbatchOptionsMarker = inbatchOptions({ nWorkers: 3 });
 * assert.equal(marker.options.nWorkers, 3);
 * ```
 */
export class InbatchOptionsMarker {
  /** The checked options. */
  readonly options: Readonly<InbatchOptions>;

  /**
   * Checks and holds the options.
   *
   * @param options `nWorkers`, `target` and `pool`.
   * @throws {RangeError} When `nWorkers` is a number but not a positive integer or `Infinity`.
   * @throws {TypeError} When `nWorkers` is not a number, `target` is unknown, or a key is
   * unknown (with the closest known one).
   */
  constructor(options: InbatchOptions) {
    this.options = callOptions(options);
  }
}

/**
 * Options for one call of an `@inbatchParallel` method: pass the result as
 * the call's last argument. It is taken off the arguments, so `init`,
 * `post` and the method never see it.
 *
 * @param options `nWorkers`: the most items in flight; `target`: where they run; `pool`: a
 *   pool of yours for a pool target.
 * @returns The marker to pass last.
 * @throws {RangeError} When `nWorkers` is a number but not a positive integer or `Infinity`.
 * @throws {TypeError} When `nWorkers` is not a number, `target` is unknown, or a key is
 * unknown (with the closest known one).
 *
 * @example At most 2 items at once
 * ```ts
 * import { Batch, inbatchOptions, inbatchParallel } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * let inside = 0, most = 0;
 * class Slow extends Batch<number> {
 *   items(): readonly number[] {
 *     return this.indices;
 *   }
 *   @inbatchParallel({ init: "items", target: "async" })
 *   async visit(..._item: unknown[]): Promise<void> {
 *     most = Math.max(most, ++inside);
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     inside--;
 *   }
 * }
 * await new Slow([1, 2, 3, 4, 5]).visit(inbatchOptions({ nWorkers: 2 }));
 * assert.equal(most, 2);
 * assert.throws(() => inbatchOptions({ nWorkers: 0 }), RangeError);
 * ```
 */
export function inbatchOptions(options: InbatchOptions): InbatchOptionsMarker {
  return new InbatchOptionsMarker(options);
}

/**
 * Whether any result of an `@inbatchParallel` call failed: `post` gets an
 * `Error` in place of each failed item's result.
 *
 * @param results The results `post` received.
 * @returns `true` when any of them is an `Error`.
 *
 * @example In a post method
 * ```ts
 * import { anyActionFailed } from "./inbatch_parallel.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(anyActionFailed([1, 2]), false);
 * assert.equal(anyActionFailed([1, new RangeError("bad item")]), true);
 * ```
 */
export function anyActionFailed(results: readonly unknown[]): boolean {
  return results.some((r) => r instanceof Error);
}

/**
 * Makes a batch method run once per item, in parallel (batchflow's
 * `inbatch_parallel`). Calling `batch.method(...actionArgs)`:
 *
 * 1. `this[init](...actionArgs, extra)` (it may be async) gives one entry per
 *    parallel call; `extra` holds the decorator's keys other than `init`,
 *    `post` and `target` (`{}` when none). An array entry is spread as
 *    positional arguments, `callArgs(positional, named)` gives
 *    `(...positional, named)`, anything else (a plain object too: JavaScript
 *    has no keyword arguments) is the single argument. The action's own
 *    arguments follow: an item runs as `method(...entryArgs, ...actionArgs)`.
 * 2. The items run on the target, at most `nWorkers` at once:
 *    `"threads"` (the default), `"async"` and `"for"` call the method per
 *    item on the event loop (sync or async; `"for"` one after another).
 *    `"workers"`, `"processes"` (alias `"mpc"`) and `"nogil"` call the method
 *    once, as `method(...actionArgs)`: it returns a kernel (`kernel()`) run per
 *    item in a `WorkerPool` or `ProcessPool`, or a function (typically a
 *    nonblocking symbol of `native()`). Either is called with the same
 *    arguments the method would get for that item: `add(item, offset)` for
 *    the entry `item` and the action argument `offset`. Without `nWorkers`, a
 *    pool keeps all its workers busy. The pools are the pipeline run's
 *    (closed when the run ends), or the `pool` given to `genBatch`/`run`
 *    (any `Pool`: a `WorkerPool`, a `ProcessPool`, a `NatsPool` of workers on
 *    other machines; left open); a batch outside a run shares pools with the
 *    other batches outside one, made on first use: they stop their workers
 *    once idle for 5 s, or at once with `closeInbatchPools()`. When a run
 *    ends early, its calls withdraw the tasks they still have on a pool.
 * 3. With `post`: `this[post](results, ...actionArgs, extra)` gets the
 *    results in `init` order, an `Error` in place of each failure (a thrown
 *    non-`Error` is wrapped, as `cause`); its return value is the call's
 *    (a batch, in a pipeline). Without `post`: a failure is thrown (several
 *    as an `AggregateError`), otherwise the call returns the batch.
 *
 * `inbatchOptions({ nWorkers, target, pool })` as the last argument overrides
 * the defaults for one call. Put `@action` above the decorator to chain the
 * method into a pipeline: its chain method takes the action's arguments,
 * the parameters after the entry's (see `ActionArgs`), then optionally the
 * `inbatchOptions()` marker. The decorated method is always async; called on
 * a batch directly, TypeScript still sees the method as declared, per item.
 *
 * @param options `init`, `post`, `target`, and extra keys for `init` and `post`.
 * @returns The method decorator.
 * @throws {TypeError} When `init` or `post` is not a method name or `target` is unknown; on a
 * call, when `init` or `post` is not a method of the batch, `init` returns no iterable, or
 * the method returns no kernel (no function, for `"nogil"`).
 *
 * @example One call per item, results to post
 * ```ts
 * import { action, anyActionFailed, Batch, Dataset, inbatchParallel } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Words extends Batch<string> {
 *   lengths: number[] = [];
 *   items(): readonly string[] {
 *     return this.indices;
 *   }
 *   keep(results: unknown[], _extra: object): this {
 *     assert(!anyActionFailed(results));
 *     this.lengths = results as number[];
 *     return this;
 *   }
 *   @action
 *   @inbatchParallel({ init: "items", post: "keep" })
 *   async measure(word: string): Promise<number> {
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     return word.length;
 *   }
 * }
 * const words = new Dataset(["a", "bcd", "ef"], Words);
 * const [batch] = await Array.fromAsync(words.p.measure().genBatch(3));
 * assert.deepEqual(batch!.lengths, [1, 3, 2]);
 * ```
 *
 * @example A kernel per item in workers, called as the method would be
 * ```ts
 * import { action, Batch, Dataset, inbatchParallel, kernel, type Kernel } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * // add(item: number, offset: number): number
 * const fixtures = new URL("../../tests/fixtures/batch_kernels.ts", import.meta.url);
 * class Sums extends Batch<number> {
 *   out: unknown[] = [];
 *   items(): readonly number[] {
 *     return this.indices;
 *   }
 *   keep(results: unknown[]): this {
 *     this.out = results;
 *     return this;
 *   }
 *   // Called once with the action's arguments; per item, add(item, offset) runs in a worker.
 *   @action
 *   @inbatchParallel({ init: "items", post: "keep", target: "workers" })
 *   add(_offset: number): Kernel {
 *     return kernel(fixtures, "add");
 *   }
 * }
 * const batches = new Dataset([1, 2, 3], Sums).p.add(100).genBatch(3);
 * const [batch] = await Array.fromAsync(batches); // the run's pools close with it
 * assert.deepEqual(batch!.out, [101, 102, 103]);
 * ```
 */
export function inbatchParallel(
  options: InbatchParallelOptions,
  // deno-lint-ignore no-explicit-any
): <M extends (this: any, ...args: any[]) => any>(
  method: M,
  context: ClassMethodDecoratorContext,
) => M {
  const { init, post, target, extra } = decoratorOptions(options);
  // deno-lint-ignore no-explicit-any
  return <M extends (this: any, ...args: any[]) => any>(
    method: M,
    context: ClassMethodDecoratorContext,
  ): M => {
    const name = methodName("@inbatchParallel", context);
    const spec = { name, method, init, post, target, extra, entryArgs };
    const wrapped = function (this: object, ...args: unknown[]): Promise<unknown> {
      const marker = args.at(-1) instanceof InbatchOptionsMarker
        ? args.pop() as InbatchOptionsMarker
        : undefined;
      return callInbatch(spec, this, args, marker?.options ?? {});
    };
    Object.defineProperty(wrapped, "name", { value: name });
    return wrapped as unknown as M;
  };
}

/**
 * Closes the pools that in-batch calls of batches outside a pipeline run
 * share (a run closes its own). They are made on first use and stop their
 * workers on their own once idle for 5 s, so a program that never calls this
 * still exits; call it to end them at once, as a test does before it ends.
 * A later call of such a batch makes new ones.
 *
 * @returns When their workers are gone.
 *
 * @example A batch on its own, then the pools closed
 * ```ts
 * import { Batch, closeInbatchPools, inbatchParallel, kernel, type Kernel } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const fixtures = new URL("../../tests/fixtures/batch_kernels.ts", import.meta.url);
 * class Sums extends Batch<number> {
 *   out: unknown[] = [];
 *   items(): readonly number[] {
 *     return this.indices;
 *   }
 *   keep(results: unknown[]): this {
 *     this.out = results;
 *     return this;
 *   }
 *   @inbatchParallel({ init: "items", post: "keep", target: "workers" })
 *   add(_offset: number): Kernel {
 *     return kernel(fixtures, "add");
 *   }
 * }
 * try {
 *   const batch = new Sums([1, 2]);
 *   await batch.add(10);
 *   await batch.add(20); // the same pool as the call before
 *   assert.deepEqual(batch.out, [21, 22]);
 * } finally {
 *   await closeInbatchPools();
 * }
 * ```
 */
export function closeInbatchPools(): Promise<void> {
  return closeStandalonePools();
}

/** An entry's arguments: an array spread, `CallArgs` both, anything else itself. */
function entryArgs(entry: unknown): readonly unknown[] {
  if (Array.isArray(entry)) return entry;
  if (entry instanceof CallArgs) return [...entry.positional, entry.named];
  return [entry];
}
