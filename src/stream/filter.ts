/**
 * The `filter` stage.
 *
 * @module
 */

import { ConcurrentStage, mapSettings, SKIP } from "./_concurrent.ts";
import { callable } from "../_internal/validate.ts";
import type { MapOptions, StageStream, TaskContext } from "./types.ts";

class FilterStage<T> extends ConcurrentStage<T, unknown, T> {
  protected result(item: T, keep: unknown): unknown {
    return keep ? item : SKIP;
  }

  protected deliver(value: unknown): void {
    this.emit(value as T);
  }
}

/**
 * Keeps the chunks that a type guard accepts, narrowing the output type.
 * Everything else is as in the other overload.
 *
 * @typeParam T The chunk type.
 * @typeParam S The narrowed type the guard proves.
 * @param predicate A sync type guard.
 * @param options Concurrency, order, name, error policy and signal.
 * @returns A `TransformStream` that passes the kept chunks as `S`.
 *
 * @example Drop the failed parses
 * ```ts
 * import { filter } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const parsed = ReadableStream.from([1, undefined, 3]);
 * const out = parsed.pipeThrough(filter((x: number | undefined): x is number => x !== undefined));
 * const numbers: number[] = await Array.fromAsync(out);
 * assert.deepEqual(numbers, [1, 3]);
 * ```
 */
export function filter<T, S extends T>(
  predicate: (item: T, ctx: TaskContext) => item is S,
  options?: MapOptions,
): StageStream<T, S>;
/**
 * Keeps the chunks for which `predicate` returns true, running up to
 * `concurrency` predicates at once. Errors, order and cancellation behave as
 * in `map`.
 *
 * @typeParam T The chunk type.
 * @param predicate Sync or async; a truthy result keeps the chunk.
 * @param options Concurrency, order, name, error policy and signal.
 * @returns A `TransformStream` that passes the kept chunks.
 * @throws {TypeError} When `predicate` is not a function or an option has the wrong type.
 * @throws {RangeError} When `concurrency` or `maxFailures` is out of range.
 *
 * @example Keep the even numbers
 * ```ts
 * import { filter } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const out = ReadableStream.from([1, 2, 3, 4]).pipeThrough(filter((x: number) => x % 2 === 0));
 * assert.deepEqual(await Array.fromAsync(out), [2, 4]);
 * ```
 */
export function filter<T>(
  predicate: (item: T, ctx: TaskContext) => boolean | PromiseLike<boolean>,
  options?: MapOptions,
): StageStream<T, T>;
export function filter<T>(
  predicate: (item: T, ctx: TaskContext) => boolean | PromiseLike<boolean>,
  options?: MapOptions,
): StageStream<T, T> {
  callable("filter stage", "predicate", predicate);
  return new FilterStage<T>(predicate, mapSettings("filter", options));
}
