/**
 * The `prefetch` stage.
 *
 * @module
 */

import { Stage } from "./_stage.ts";
import type { StageOptions, StageStream } from "./types.ts";
import * as check from "../_internal/validate.ts";
import { type Common, STAGE_OPTIONS, stageOptions } from "./options.ts";

class PrefetchStage<T> extends Stage<T, T> {
  constructor(n: number, common: Common) {
    super(common.name, n, common.hooks);
    this.watch(common.signal);
  }

  protected accept(item: T): void {
    this.emit(item);
  }
}

/**
 * Reads up to `n` chunks ahead of the consumer and keeps them ready: the
 * high-water mark of the readable side. Upstream stages run while the
 * consumer is busy, and stop once `n` results wait unread.
 *
 * @typeParam T The chunk type.
 * @param n How many chunks to hold ahead, a non-negative integer.
 * @param options `name` and `signal`.
 * @returns An identity `TransformStream` with a buffer of `n`.
 * @throws {RangeError} When `n` is negative or not an integer.
 *
 * @example Keep four results ready
 * ```ts
 * import { map, prefetch } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const out = ReadableStream.from([1, 2, 3])
 *   .pipeThrough(map((x: number) => x + 1))
 *   .pipeThrough(prefetch(4));
 * assert.deepEqual(await Array.fromAsync(out), [2, 3, 4]);
 * ```
 */
export function prefetch<T>(n: number, options?: StageOptions): StageStream<T, T> {
  const what = "prefetch stage";
  check.nonNegativeInteger(what, "n", n);
  return new PrefetchStage<T>(n, stageOptions("prefetch", STAGE_OPTIONS, options));
}
