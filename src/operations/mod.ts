/**
 * Operations after blllib: a chain of stateful and stateless callables.
 *
 * @example Accumulate in order, negate in parallel
 * ```ts
 * import { kernel, Operations } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const fixtures = new URL("../../tests/fixtures/operation_kernels.ts", import.meta.url);
 * await using ops = new Operations<number, number>([
 *   kernel(fixtures, "Accumulator"),
 *   kernel(fixtures, "negate"),
 * ]);
 * assert.deepEqual(await Array.fromAsync(ops.apply([1, 2, 3])), [-1, -3, -6]);
 * ```
 *
 * @module
 */

export {
  type Operation,
  Operations,
  type OperationsOptions,
  type OperationsStats,
} from "./operations.ts";
export type { OpMeta } from "./options.ts";
