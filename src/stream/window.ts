/**
 * The `window` stage.
 *
 * @module
 */

import { Stage } from "./_stage.ts";
import type { StageOptions, StageStream } from "./types.ts";
import * as check from "../_internal/validate.ts";
import { type Common, stageOptions, WINDOW_OPTIONS } from "./options.ts";

/**
 * Options of `window`.
 *
 * @example Windows of two, every three items
 * ```ts
 * import { window, type WindowOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const options: WindowOptions = { step: 3 };
 * const out = ReadableStream.from([0, 1, 2, 3, 4, 5, 6, 7]).pipeThrough(window(2, options));
 * assert.deepEqual(await Array.fromAsync(out), [[0, 1], [3, 4], [6, 7]]);
 * ```
 */
export interface WindowOptions extends StageOptions {
  /**
   * How far each window moves: 1 slides by one item; `step === size` cuts the stream into disjoint
   * windows; a larger step skips items.
   *
   * @default {1}
   */
  step?: number;
}

class WindowStage<T> extends Stage<T, T[]> {
  readonly #size: number;
  readonly #step: number;
  #items: T[] = [];
  #skip = 0;

  constructor(size: number, step: number, common: Common) {
    super(common.name, 1, common.hooks);
    this.#size = size;
    this.#step = step;
    this.watch(common.signal);
  }

  protected accept(item: T): void {
    if (this.#skip > 0) {
      this.#skip--;
      return;
    }
    this.#items.push(item);
    if (this.#items.length < this.#size) return;
    this.emit(this.#items.slice());
    if (this.#step >= this.#size) {
      this.#skip = this.#step - this.#size;
      this.#items = [];
    } else {
      this.#items.splice(0, this.#step);
    }
  }
}

/**
 * Sliding windows of `size` consecutive chunks, moving by `step`. Inputs
 * 0..4 with size 2 give [0,1],[1,2],[2,3],[3,4]; fewer than `size` inputs
 * give nothing, and a trailing partial window is dropped.
 *
 * @typeParam T The chunk type.
 * @param size Items per window, a positive integer.
 * @param options `step`, `name`, `signal`.
 * @returns A `TransformStream` from items to arrays of `size` items.
 * @throws {RangeError} When `size` or `step` is not a positive integer.
 *
 * @example Pairs of neighbours
 * ```ts
 * import { window } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const out = await Array.fromAsync(ReadableStream.from([0, 1, 2, 3, 4]).pipeThrough(window(2)));
 * assert.deepEqual(out, [[0, 1], [1, 2], [2, 3], [3, 4]]);
 * const hops = await Array.fromAsync(ReadableStream.from([0, 1, 2, 3, 4]).pipeThrough(window(2, { step: 2 })));
 * assert.deepEqual(hops, [[0, 1], [2, 3]]);
 * ```
 */
export function window<T>(
  size: number,
  options?: WindowOptions,
): StageStream<T, T[]> {
  const what = "window stage";
  check.positiveInteger(what, "size", size);
  const o = stageOptions("window", WINDOW_OPTIONS, options);
  return new WindowStage<T>(size, o.step ?? 1, o);
}
