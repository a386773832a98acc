// The options bags of Operations, each described once (see
// ../_internal/options.ts): an operation's metadata (blllib's `stateful`,
// `batchSize`, `runInMaster`), read from a kernel's meta or from properties
// of a function, a class or an instance, and `new Operations()`'s options.
// Not exported from mod.ts (the `OpMeta` type is).

import { checkOptions, isBoolean, isPositiveInteger, type Schema } from "../_internal/options.ts";
import { isPool } from "../exec/kernel_stage.ts";
import { POOL_SIZE } from "../exec/options.ts";
import type { OperationsOptions } from "./operations.ts";

/**
 * An operation's scheduling metadata, checked and with defaults.
 *
 * @example The metadata read from a function's properties
 * ```ts
 * import { kernel, Operations, type OpMeta } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const fixtures = new URL("../../tests/fixtures/operation_kernels.ts", import.meta.url);
 * // z - x over windows of 3, with the properties `stateful = 3` and `batchSize = 4`.
 * const difference = kernel(fixtures, "difference2Stateless");
 * await using ops = new Operations<number, number>([difference], { nCpu: 1 });
 * const meta: OpMeta = ops.stats().operations[0]!.meta;
 * assert.deepEqual(meta, { stateful: 3, batchSize: 4, runInMaster: false });
 * assert.deepEqual(await Array.fromAsync(ops.apply([1, 4, 9, 16])), [8, 12]);
 * ```
 */
export interface OpMeta {
  /**
   * `true`: in order, in one dedicated worker (its state kept there); `false`: in parallel; k:
   * sliding windows of k inputs, then in parallel.
   *
   * @default {true}
   */
  stateful: boolean | number;
  /**
   * How many calls may be in flight at once.
   *
   * @default {1}
   */
  batchSize: number;
  /**
   * Run on the main thread, in order.
   *
   * @default {false}
   */
  runInMaster: boolean;
}

/** `OpMeta`: a kernel's meta for Operations, and the properties Operations reads. */
export const OP_META: Schema<OpMeta> = {
  stateful: {
    doc:
      "`true`: in order, in one dedicated worker (its state kept there); `false`: in parallel; k: sliding windows of k inputs, then in parallel.",
    expected: "true, false or a positive integer window size",
    test: (v) => isBoolean(v) || isPositiveInteger()(v),
    default: "true",
    numeric: true,
  },
  batchSize: {
    doc: "How many calls may be in flight at once.",
    expected: "a positive integer",
    test: isPositiveInteger(),
    default: "1",
    numeric: true,
  },
  runInMaster: {
    doc: "Run on the main thread, in order.",
    expected: "a boolean",
    test: isBoolean,
    default: "false",
  },
};

/** `OperationsOptions` of `new Operations()`. */
export const OPERATIONS_OPTIONS: Schema<OperationsOptions> = {
  nCpu: {
    ...POOL_SIZE,
    doc: "Workers for the stateless operations (one pool, shared).",
    default: "the cores left after one per stateful kernel, at least 1",
  },
  pool: {
    doc: "A pool of yours (a `WorkerPool`, a `ProcessPool`, a `NatsPool`...) for the stateless " +
      "kernel operations instead of one of `nCpu` workers (not with `nCpu`); left open. A " +
      "stateful kernel keeps its dedicated worker, `runInMaster` the main thread.",
    expected: "a pool (a WorkerPool, a ProcessPool, a NatsPool...)",
    test: isPool,
  },
};

/**
 * The metadata found on `source`, a function, a class or an instance:
 * only the keys of `OpMeta` are read (a function carries other properties),
 * and each is checked. Absent keys stay absent.
 */
export function readMeta(what: string, source: object): Partial<OpMeta> {
  const found: Record<string, unknown> = {};
  for (const key of Object.keys(OP_META)) {
    const value = (source as Record<string, unknown>)[key];
    if (value !== undefined) found[key] = value;
  }
  return checkOptions(what, OP_META, found);
}

/** The metadata with blllib's defaults: stateful, batchSize 1, not in master. */
export function withDefaults(meta: Partial<OpMeta>): OpMeta {
  return {
    stateful: meta.stateful ?? true,
    batchSize: meta.batchSize ?? 1,
    runInMaster: meta.runInMaster ?? false,
  };
}
