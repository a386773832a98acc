/**
 * `@inbatchParallel`: a batch method that runs once per item, in parallel,
 * on the event loop, in a pool of workers or processes, or in native code.
 *
 * @module
 */

import { show } from "../_internal/validate.ts";
import { callInbatch, checkCallOptions, checkContext, checkOptions } from "./_inbatch_call.ts";

/**
 * Where the items of an `@inbatchParallel` call run. `"threads"`, `"async"`
 * and `"for"` call the method per item on the event loop (`"for"` one after
 * another); `"workers"`, `"processes"` (alias `"mpc"`) and `"nogil"` call it
 * once, and run what it returns (a kernel, or a nonblocking native function)
 * per item.
 *
 * @example Three targets on the event loop, one result
 * ```ts
 * import { Batch, inbatchOptions, inbatchParallel, type Target } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Squares extends Batch<number> {
 *   out: number[] = [];
 *   items(): readonly number[] { return this.indices; }
 *   @inbatchParallel({ init: "items" })
 *   square(item?: unknown): void { this.out[item as number] = (item as number) ** 2; }
 * }
 * const targets: Target[] = ["threads", "async", "for"];
 * for (const target of targets) {
 *   const batch = new Squares([0, 1, 2]);
 *   await batch.square(inbatchOptions({ target }));
 *   assert.deepEqual(batch.out, [0, 1, 4]);
 * }
 * ```
 */
export type Target = "threads" | "async" | "for" | "workers" | "processes" | "mpc" | "nogil";

/**
 * Options of `@inbatchParallel(...)`; any other key is passed on to `init` and `post`.
 *
 * @example An extra key for `init`, and a `post` that sums
 * ```ts
 * import { Batch, inbatchParallel, type InbatchParallelOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const options: InbatchParallelOptions = {
 *   init: "items", post: "total", target: "async", scale: 10,
 * };
 * class Prices extends Batch<number> {
 *   items({ scale }: { scale: number }): number[] { return this.indices.map((i) => i * scale); }
 *   total(results: number[]): number { return results.reduce((a, b) => a + b, 0); }
 *   @inbatchParallel(options)
 *   async price(amount?: number): Promise<number> { return amount! + 1; }
 * }
 * assert.equal(await new Prices([1, 2, 3]).price(), 63); // 11 + 21 + 31
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
 * import { Batch, type InbatchOptions, inbatchOptions, inbatchParallel } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * let inside = 0, most = 0;
 * class Pages extends Batch<number> {
 *   items(): readonly number[] { return this.indices; }
 *   @inbatchParallel({ init: "items", target: "for" })
 *   async fetch(_page?: unknown): Promise<void> {
 *     most = Math.max(most, ++inside);
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     inside--;
 *   }
 * }
 * const options: InbatchOptions = { target: "async", nWorkers: 3 };
 * await new Pages([1, 2, 3, 4, 5, 6]).fetch(inbatchOptions(options));
 * assert.equal(most, 3);
 * ```
 */
export interface InbatchOptions {
  /**
   * The most items in flight at once.
   *
   * @default {4 × cores for "threads", Infinity for "async", 1 for "for", the pool's size for "workers" and "processes", the cores for "nogil"}
   */
  nWorkers?: number;
  /** Overrides the decorator's target for this call. */
  target?: Target;
}

/**
 * An `init` entry with positional and named arguments: the method gets
 * `(...positional, named)`. Make one with `callArgs()`.
 *
 * @example An entry for `method(data, item, { scale })`
 * ```ts
 * import { CallArgs } from "./inbatch_parallel.ts";
 * import assert from "node:assert/strict";
 *
 * const entry = new CallArgs(["data", 3], { scale: 2 });
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
 * import { Batch } from "./batch.ts";
 * import { callArgs, inbatchParallel } from "./inbatch_parallel.ts";
 * import assert from "node:assert/strict";
 *
 * class Scaled extends Batch<number> {
 *   data = [10, 20];
 *   out: number[] = [];
 *   init(): unknown[] {
 *     return this.indices.map((i) => callArgs([this.data, i], { scale: 3 }));
 *   }
 *   @inbatchParallel({ init: "init" })
 *   scale(data?: number[], i = 0, { scale } = { scale: 1 }): void {
 *     this.out[i] = data![i]! * scale;
 *   }
 * }
 * const batch = new Scaled([0, 1]);
 * await batch.scale();
 * assert.deepEqual(batch.out, [30, 60]);
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
 * `inbatchOptions()` makes one.
 *
 * @example What it holds
 * ```ts
 * import { inbatchOptions, InbatchOptionsMarker } from "./inbatch_parallel.ts";
 * import assert from "node:assert/strict";
 *
 * const marker = inbatchOptions({ nWorkers: 3 });
 * assert(marker instanceof InbatchOptionsMarker);
 * assert.equal(marker.options.nWorkers, 3);
 * ```
 */
export class InbatchOptionsMarker {
  /** The checked options. */
  readonly options: Readonly<InbatchOptions>;

  /**
   * Checks and holds the options.
   *
   * @param options `nWorkers` and `target`.
   * @throws {RangeError} When `nWorkers` is a number but not a positive integer or `Infinity`.
   * @throws {TypeError} When `nWorkers` is not a number or `target` is unknown.
   */
  constructor(options: InbatchOptions) {
    checkCallOptions(options);
    this.options = Object.freeze({ ...options });
  }
}

/**
 * Options for one call of an `@inbatchParallel` method: pass the result as
 * the call's last argument. It is taken off the arguments, so `init`,
 * `post` and the method never see it.
 *
 * @param options `nWorkers`: the most items in flight; `target`: where they run.
 * @returns The marker to pass last.
 * @throws {RangeError} When `nWorkers` is a number but not a positive integer or `Infinity`.
 * @throws {TypeError} When `nWorkers` is not a number or `target` is unknown.
 *
 * @example At most 2 items at once
 * ```ts
 * import { Batch } from "./batch.ts";
 * import { inbatchOptions, inbatchParallel } from "./inbatch_parallel.ts";
 * import assert from "node:assert/strict";
 *
 * let inside = 0, most = 0;
 * class Slow extends Batch<number> {
 *   items(): readonly number[] {
 *     return this.indices;
 *   }
 *   @inbatchParallel({ init: "items", target: "async" })
 *   async visit(_item?: unknown): Promise<void> {
 *     most = Math.max(most, ++inside);
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     inside--;
 *   }
 * }
 * await new Slow([1, 2, 3, 4, 5]).visit(inbatchOptions({ nWorkers: 2 }));
 * assert.equal(most, 2);
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
 *    item in the pipeline's `WorkerPool` or `ProcessPool`, or a function
 *    (typically a nonblocking symbol of `native()`) called per item with the
 *    item's arguments. **A kernel takes one input**: it receives the item's
 *    only argument itself, or, when the item has none or several, the
 *    array of them (`crunchWith([seed, offset])` for the entry `[seed]` and
 *    the action argument `offset`). A batch outside a pipeline gets pools of
 *    its own for the call, closed when it ends.
 * 3. With `post`: `this[post](results, ...actionArgs, extra)` gets the
 *    results in `init` order, an `Error` in place of each failure (a thrown
 *    non-`Error` is wrapped, as `cause`); its return value is the call's
 *    (a batch, in a pipeline). Without `post`: a failure is thrown (several
 *    as an `AggregateError`), otherwise the call returns the batch.
 *
 * `inbatchOptions({ nWorkers, target })` as the last argument overrides the
 * defaults for one call. The decorated method is always async, and
 * TypeScript still sees the declared per-item signature: declare its
 * parameters optional (or call it through the pipeline) so that the action's
 * call type-checks. Put `@action` above it to chain it into a pipeline.
 *
 * @param options `init`, `post`, `target`, and extra keys for `init` and `post`.
 * @returns The method decorator.
 * @throws {TypeError} When `init` or `post` is not a method name or `target` is unknown; on a
 * call, when `init` or `post` is not a method of the batch, `init` returns no iterable, or
 * the method returns no kernel (no function, for `"nogil"`).
 *
 * @example One call per item, results to post
 * ```ts
 * import { Batch } from "./batch.ts";
 * import { anyActionFailed, inbatchParallel } from "./inbatch_parallel.ts";
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
 *   @inbatchParallel({ init: "items", post: "keep" })
 *   async measure(word?: string): Promise<number> {
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     return word!.length;
 *   }
 * }
 * const batch = new Words(["a", "bcd", "ef"]);
 * await batch.measure();
 * assert.deepEqual(batch.lengths, [1, 3, 2]);
 * ```
 *
 * @example A kernel per item in workers: several arguments arrive as one array
 * ```ts
 * import { Batch } from "./batch.ts";
 * import { kernel, type Kernel } from "../exec/kernel.ts";
 * import { inbatchParallel } from "./inbatch_parallel.ts";
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
 *   // Per item: add(item, offset), i.e. the kernel's input is [item, offset].
 *   @inbatchParallel({ init: "items", post: "keep", target: "workers" })
 *   add(_offset?: number): Kernel {
 *     return kernel(fixtures, "add");
 *   }
 * }
 * const batch = new Sums([1, 2, 3]);
 * await batch.add(100);
 * assert.deepEqual(batch.out, [101, 102, 103]);
 * ```
 */
export function inbatchParallel(
  options: InbatchParallelOptions,
  // deno-lint-ignore no-explicit-any
): <M extends (this: any, ...args: any[]) => any>(
  method: M,
  context: ClassMethodDecoratorContext,
) => M {
  const { init, post, target, extra } = checkOptions(options);
  // deno-lint-ignore no-explicit-any
  return <M extends (this: any, ...args: any[]) => any>(
    method: M,
    context: ClassMethodDecoratorContext,
  ): M => {
    const name = checkContext(context);
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

/** An entry's arguments: an array spread, `CallArgs` both, anything else itself. */
function entryArgs(entry: unknown): readonly unknown[] {
  if (Array.isArray(entry)) return entry;
  if (entry instanceof CallArgs) return [...entry.positional, entry.named];
  return [entry];
}
