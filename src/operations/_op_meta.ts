// An operation's scheduling metadata (stateful, batchSize, runInMaster): read
// from a kernel's meta, or from properties of the function or class itself,
// and checked.

import { show } from "../_internal/validate.ts";

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
 * assert.deepEqual(await Array.fromAsync(ops.apply([1, 4, 9, 16])), [8, 12]);
 * const meta: OpMeta = ops.stats().operations[0]!.meta;
 * assert.deepEqual(meta, { stateful: 3, batchSize: 4, runInMaster: false });
 * ```
 */
export interface OpMeta {
  /** true: in order, one worker; false: parallel; k: windows of k, then parallel. */
  stateful: boolean | number;
  /** How many calls may be in flight at once. */
  batchSize: number;
  /** Run on the main thread, in order. */
  runInMaster: boolean;
}

/** Reads and checks the metadata found on `source` (undefined fields are absent). */
export function readMeta(what: string, source: Record<string, unknown>): Partial<OpMeta> {
  const meta: Partial<OpMeta> = {};
  const { stateful, batchSize, runInMaster } = source;
  if (stateful !== undefined) {
    if (typeof stateful === "number" && !(Number.isInteger(stateful) && stateful >= 1)) {
      throw new RangeError(
        `${what}: stateful must be true, false or a positive integer window size, got ${
          show(stateful)
        }`,
      );
    }
    if (typeof stateful !== "boolean" && typeof stateful !== "number") {
      throw new TypeError(
        `${what}: stateful must be true, false or a positive integer window size, got ${
          show(stateful)
        }`,
      );
    }
    meta.stateful = stateful;
  }
  if (batchSize !== undefined) {
    if (typeof batchSize !== "number" || !Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`${what}: batchSize must be a positive integer, got ${show(batchSize)}`);
    }
    meta.batchSize = batchSize;
  }
  if (runInMaster !== undefined) {
    if (typeof runInMaster !== "boolean") {
      throw new TypeError(`${what}: runInMaster must be a boolean, got ${show(runInMaster)}`);
    }
    meta.runInMaster = runInMaster;
  }
  return meta;
}

/** The metadata with blllib's defaults: stateful, batchSize 1, not in master. */
export function withDefaults(meta: Partial<OpMeta>): OpMeta {
  return {
    stateful: meta.stateful ?? true,
    batchSize: meta.batchSize ?? 1,
    runInMaster: meta.runInMaster ?? false,
  };
}
