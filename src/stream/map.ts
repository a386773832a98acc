/**
 * The `map` stage.
 *
 * @module
 */

import { ConcurrentStage, mapSettings, type SKIP } from "./_concurrent.ts";
import { callable } from "../_internal/validate.ts";
import type { MapOptions, StageStream, TaskContext } from "./types.ts";

class MapStage<I, O> extends ConcurrentStage<I, O, O> {
  protected result(_item: I, value: O): O | typeof SKIP {
    return value;
  }

  protected deliver(value: O): void {
    this.emit(value);
  }
}

/**
 * Applies `fn` to every chunk, up to `concurrency` calls at once.
 *
 * Results leave in input order unless `ordered: false`. A throwing or
 * rejecting call errors the stream with a `StageError` (see `onError` and
 * `maxFailures` to skip failures instead); cancelling the output or aborting
 * `signal` stops the stage and aborts `ctx.signal` of every running call.
 * With `concurrency: "auto"` the stage picks how many calls run at once while
 * it runs (at most 256) and `stats().concurrency` says how many it picked.
 *
 * @typeParam I The input chunk type.
 * @typeParam O The output chunk type.
 * @param fn The task: sync or async, given the chunk and a `TaskContext`.
 * @param options Concurrency, order, name, error policy and signal.
 * @returns A `TransformStream` from inputs to results.
 * @throws {TypeError} When `fn` is not a function or an option has the wrong type.
 * @throws {RangeError} When `concurrency` or `maxFailures` is out of range.
 *
 * @example Fetch-like work, eight at once, in input order
 * ```ts
 * import { map } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const slowDouble = async (x: number) => {
 *   await new Promise((resolve) => setTimeout(resolve, (5 - x) * 2));
 *   return x * 2;
 * };
 * const out = ReadableStream.from([1, 2, 3, 4]).pipeThrough(map(slowDouble, { concurrency: 8 }));
 * assert.deepEqual(await Array.fromAsync(out), [2, 4, 6, 8]);
 * ```
 *
 * @example Requests, as many at once as pays
 * ```ts
 * import { map } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const request = async (x: number) => {
 *   await new Promise((resolve) => setTimeout(resolve, 1));
 *   return x + 1;
 * };
 * const stage = map(request, { concurrency: "auto" });
 * const out = ReadableStream.from([1, 2, 3]).pipeThrough(stage);
 * assert.deepEqual(await Array.fromAsync(out), [2, 3, 4]);
 * assert(stage.stats().concurrency <= 256);
 * ```
 */
export function map<I, O>(
  fn: (item: I, ctx: TaskContext) => O | PromiseLike<O>,
  options?: MapOptions,
): StageStream<I, Awaited<O>> {
  callable("map stage", "fn", fn);
  return new MapStage<I, Awaited<O>>(
    fn as (item: I, ctx: TaskContext) => Awaited<O> | PromiseLike<Awaited<O>>,
    mapSettings("map", options),
  );
}
