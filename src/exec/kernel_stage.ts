/**
 * `kernelStage`: a kernel as a stream stage on any executor, the event loop
 * or a pool. Every front-end (the builder's `pipe`, YAML stages, Operations,
 * in-batch targets) makes its kernel stages here.
 *
 * @module
 */

import { checkOptions } from "../_internal/options.ts";
import { SPREAD } from "../_internal/hooks.ts";
import { map } from "../stream/map.ts";
import type { StageStream } from "../stream/types.ts";
import { checkKernel, type Kernel } from "./kernel.ts";
import { loadKernel } from "./_kernel_loader.ts";
import { POOL_MAP_OPTIONS } from "./options.ts";
import type { Pool, PoolMapOptions } from "./pool_types.ts";
import { isTransfer } from "./transfer.ts";

/**
 * Where a kernel runs: `"main"`, the event loop of this thread, or a pool
 * (`WorkerPool`, `ProcessPool`, or any other `Pool`).
 *
 * @example Either executor, the same call
 * ```ts
 * import { type Executor, kernel, kernelStage, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * await using pool = new WorkerPool({ size: 2 });
 * for (const executor of ["main", pool] satisfies Executor[]) {
 *   const out = ReadableStream.from([1, 2, 3]).pipeThrough(kernelStage(square, executor));
 *   assert.deepEqual(await Array.fromAsync(out), [1, 4, 9]);
 * }
 * ```
 */
export type Executor = "main" | Pool;

/**
 * A stage that runs kernel `k` on every chunk on `executor`. On a pool it is
 * `pool.map(k, options)`: without `concurrency` the pool keeps as many tasks
 * in flight as keep every worker busy. On `"main"` the kernel's module is
 * imported once here and the calls run on the event loop, `concurrency`
 * (default 1) at once; `transfer` and `retries` do not apply there.
 *
 * @typeParam I The kernel's input type.
 * @typeParam O The kernel's return type.
 * @param k The kernel.
 * @param executor `"main"` or a pool.
 * @param options `MapOptions`, plus `transfer` and `retries` on a pool.
 * @returns A `TransformStream` from inputs to results.
 * @throws {TypeError} When `k` is not a kernel, `executor` is neither, or an option is wrong.
 *
 * @example Squares on the event loop, two at once
 * ```ts
 * import { kernel, kernelStage } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * const stage = kernelStage(square, "main", { concurrency: 2 });
 * const out = ReadableStream.from([4, 5]).pipeThrough(stage);
 * assert.deepEqual(await Array.fromAsync(out), [16, 25]);
 * assert.equal(stage.name, "square");
 * ```
 */
export function kernelStage<I, O>(
  k: Kernel<(input: I) => O>,
  executor: Executor,
  options?: PoolMapOptions<I>,
): StageStream<I, Awaited<O>> {
  const what = "Cannot create kernel stage";
  checkKernel(what, k);
  if (executor !== "main") {
    if (!isPool(executor)) {
      throw new TypeError(
        `${what}: executor must be "main" or a pool, got ${
          typeof executor === "string" ? JSON.stringify(executor) : typeof executor
        }`,
      );
    }
    return executor.map(k, options);
  }
  const { transfer: _t, retries: _r, ...rest } = checkOptions(what, POOL_MAP_OPTIONS, options);
  const spread = (options as { [SPREAD]?: boolean } | undefined)?.[SPREAD] === true;
  let fn: Promise<(...args: unknown[]) => unknown> | undefined;
  const call = async (input: I) => {
    const f = await (fn ??= loadKernel(k.module, k.exportName));
    const value = await (spread ? f(...(input as unknown[])) : f(input));
    return (isTransfer(value) ? value.value : value) as Awaited<O>;
  };
  return map(call, { ...rest, name: rest.name ?? k.exportName });
}

/** Whether `value` has the surface of a `Pool`. */
export function isPool(value: unknown): value is Pool {
  return typeof value === "object" && value !== null &&
    typeof (value as Pool).run === "function" && typeof (value as Pool).map === "function" &&
    typeof (value as Pool).close === "function";
}
