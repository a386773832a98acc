/**
 * Executors: kernels and the pools that run them off the main thread.
 *
 * @example A kernel on a worker pool
 * ```ts
 * import { kernel, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * await using pool = new WorkerPool({ size: 1 });
 * assert.equal(await pool.run(square, 12), 144);
 * ```
 *
 * @module
 */

export { type Kernel, kernel, type KernelMeta } from "./kernel.ts";
export { native, type NativeLibrary, type NativeOptions } from "./native.ts";
export {
  type AsyncSymbols,
  type NativePool,
  nativePool,
  type NativePoolOptions,
} from "./native_pool.ts";
export { type Transfer, transfer, transferables } from "./transfer.ts";
export { WorkerCrashError } from "./worker_crash_error.ts";
export type {
  Pool,
  PoolMapOptions,
  PoolOptions,
  PoolStats,
  RunOptions,
  WorkerStats,
} from "./pool_types.ts";
export {
  type PermissionList,
  type ProcessPermissions,
  ProcessPool,
  type ProcessPoolOptions,
} from "./process_pool.ts";
export type { LocalPool } from "./local_pool.ts";
export { WorkerPool } from "./worker_pool.ts";
export { type Executor, kernelStage } from "./kernel_stage.ts";
