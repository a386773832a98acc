/**
 * The `flatMap` stage.
 *
 * @module
 */

import { ConcurrentStage, mapSettings, type SKIP } from "./_concurrent.ts";
import { callable, show } from "../_internal/validate.ts";
import type { MapOptions, StageStream, TaskContext } from "./types.ts";

class FlatMapStage<I, O> extends ConcurrentStage<I, readonly O[], O> {
  protected result(_item: I, values: readonly O[]): readonly O[] | typeof SKIP {
    return values;
  }

  protected deliver(values: readonly O[]): void {
    for (let i = 0; i < values.length; i++) this.emit(values[i]!);
  }
}

// Outputs are collected inside the task, so that an iterator that throws
// fails its own item and the stage's concurrency covers the work.
function collect<O>(value: unknown): readonly O[] | PromiseLike<readonly O[]> {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === "object") {
    if (Symbol.iterator in value) return Array.from(value as Iterable<O>);
    if (Symbol.asyncIterator in value) {
      return Array.fromAsync(value as AsyncIterable<O>);
    }
  }
  throw new TypeError(
    `flatMap's function must return an iterable or async iterable, got ${show(value)}`,
  );
}

/**
 * Maps every chunk to several (an iterable, an async iterable, or a promise
 * of an iterable) and gives them downstream one by one, running up to
 * `concurrency` calls at once. An async iterable is read to its end inside
 * its task, so the stage's concurrency covers that work too. Errors, order
 * and cancellation behave as in `map`.
 *
 * @typeParam I The input chunk type.
 * @typeParam O The output chunk type.
 * @param fn Sync or async; returns the outputs for one input.
 * @param options Concurrency, order, name, error policy and signal.
 * @returns A `TransformStream` from inputs to the flattened outputs.
 * @throws {TypeError} When `fn` is not a function or an option has the wrong type.
 * @throws {RangeError} When `concurrency` or `maxFailures` is out of range.
 *
 * @example Split lines into words
 * ```ts
 * import { flatMap } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const out = ReadableStream.from(["a b", "c"]).pipeThrough(flatMap((line: string) => line.split(" ")));
 * assert.deepEqual(await Array.fromAsync(out), ["a", "b", "c"]);
 * ```
 */
export function flatMap<I, O>(
  fn: (
    item: I,
    ctx: TaskContext,
  ) => Iterable<O> | AsyncIterable<O> | PromiseLike<Iterable<O> | AsyncIterable<O>>,
  options?: MapOptions,
): StageStream<I, O> {
  callable("flatMap stage", "fn", fn);
  const task = (
    item: I,
    ctx: TaskContext,
  ): readonly O[] | PromiseLike<readonly O[]> => {
    const value = fn(item, ctx);
    if (
      value !== null && typeof value === "object" && "then" in value &&
      typeof value.then === "function"
    ) {
      return (value as PromiseLike<Iterable<O> | AsyncIterable<O>>).then(collect<O>);
    }
    return collect<O>(value);
  };
  return new FlatMapStage<I, O>(task, mapSettings("flatMap", options));
}
