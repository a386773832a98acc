/**
 * `Operations`: blllib's chain of stateful and stateless callables.
 *
 * @module
 */

import { filter } from "../stream/filter.ts";
import { map } from "../stream/map.ts";
import { source } from "../stream/source.ts";
import { window } from "../stream/window.ts";
import * as check from "../_internal/validate.ts";
import { isKernel, type Kernel, kernel } from "../exec/kernel.ts";
import type { PoolStats } from "../exec/pool_types.ts";
import { WorkerPool } from "../exec/worker_pool.ts";
import { asCallable, type invoke, isClass } from "./_op_kernel.ts";
import { type OpMeta, readMeta, withDefaults } from "./_op_meta.ts";

/**
 * An operation: a kernel (a module export: a function, or a class whose
 * instances are called through `call(input)`), or a plain function, which
 * runs on the main thread. Metadata (`stateful`, `batchSize`,
 * `runInMaster`) comes from `kernel(url, name, meta)` or from properties of
 * the function or class.
 *
 * @example A kernel in the workers, then a function on the main thread
 * ```ts
 * import { kernel, type Operation, Operations } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const fixtures = new URL("../../tests/fixtures/operation_kernels.ts", import.meta.url);
 * const half = Object.assign((x: number) => x / 2, { stateful: false, batchSize: 2 });
 * const ops: Operation[] = [kernel(fixtures, "negate"), half];
 * await using chain = new Operations<number, number>(ops, { nCpu: 1 });
 * assert.deepEqual(await Array.fromAsync(chain.apply([2, 4, 6])), [-1, -2, -3]);
 * assert.deepEqual(chain.stats().operations.map((o) => o.runs), ["pool", "master"]);
 * ```
 */
export type Operation =
  | Kernel
  | (((input: never) => unknown) & {
    stateful?: boolean | number;
    batchSize?: number;
    runInMaster?: boolean;
  });

/**
 * Options of `new Operations()`.
 *
 * @example Two workers for the stateless operations
 * ```ts
 * import { kernel, Operations, type OperationsOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const fixtures = new URL("../../tests/fixtures/operation_kernels.ts", import.meta.url);
 * const options: OperationsOptions = { nCpu: 2 };
 * await using ops = new Operations<number, number>([kernel(fixtures, "negate")], options);
 * assert.deepEqual(await Array.fromAsync(ops.apply([1, 2, 3])), [-1, -2, -3]);
 * assert.equal(ops.stats().pool?.size, 2);
 * ```
 */
export interface OperationsOptions {
  /**
   * Workers for the stateless operations (one pool, shared).
   *
   * @default {the cores left after one per stateful kernel, at least 1}
   */
  nCpu?: number;
}

/**
 * Where each operation runs, and the pools' counters.
 *
 * @example A dedicated worker, the pool and the main thread
 * ```ts
 * import { kernel, Operations, type OperationsStats } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const fixtures = new URL("../../tests/fixtures/operation_kernels.ts", import.meta.url);
 * const tenfold = (x: number) => 10 * x;
 * await using ops = new Operations<number, number>(
 *   [kernel(fixtures, "Accumulator"), kernel(fixtures, "negate"), tenfold],
 *   { nCpu: 1 },
 * );
 * assert.deepEqual(await Array.fromAsync(ops.apply([1, 2])), [-10, -30]);
 * const stats: OperationsStats = ops.stats();
 * assert.deepEqual(stats.operations.map((o) => o.runs), ["dedicated worker", "pool", "master"]);
 * assert.equal(stats.dedicated.length, 1);
 * ```
 */
export interface OperationsStats {
  /** Per operation: its name and where it runs. */
  operations: { name: string; runs: "master" | "dedicated worker" | "pool"; meta: OpMeta }[];
  /** The shared pool of the stateless operations, once made. */
  pool: PoolStats | undefined;
  /** The dedicated workers of the stateful kernels. */
  dedicated: PoolStats[];
}

const INVOKE = kernel<typeof invoke>(new URL("./_op_kernel.ts", import.meta.url), "invoke");

interface Planned {
  op: Operation;
  name: string;
  /** Metadata given up front (kernel meta, function properties). */
  given: Partial<OpMeta>;
}

/**
 * A chain of operations applied to a stream of inputs, output in input
 * order. A stateful operation runs in order, in one dedicated worker (a
 * kernel) or on the main thread (a function); a stateless one runs on a
 * shared pool of `nCpu` workers, `batchSize` calls at once; `stateful: k`
 * feeds it sliding windows of k inputs, then runs in parallel;
 * `runInMaster` runs it on the main thread, in order. An operation that
 * returns `undefined` gives no output for that input (a stateful operation
 * still warming up).
 *
 * @typeParam I The input type.
 * @typeParam O The output type.
 *
 * @example A running sum, then a negation in parallel
 * ```ts
 * import { kernel, Operations } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const fixtures = new URL("../../tests/fixtures/operation_kernels.ts", import.meta.url);
 * await using ops = new Operations<number, number>([
 *   kernel(fixtures, "Accumulator"),
 *   kernel(fixtures, "negate", { stateful: false, batchSize: 4 }),
 * ], { nCpu: 2 });
 * const out = await Array.fromAsync(ops.apply([1, 2, 3, 4]));
 * assert.deepEqual(out, [-1, -3, -6, -10]);
 * ```
 */
export class Operations<I, O> implements AsyncDisposable {
  readonly #planned: Planned[];
  readonly #nCpu: number | undefined;
  #metas: OpMeta[] = [];
  #pool: WorkerPool | undefined;
  readonly #dedicated: WorkerPool[] = [];
  #applied = false;
  #closing: Promise<void> | undefined;

  /**
   * Checks the operations and their metadata.
   *
   * @param ops The operations, in order.
   * @param options `nCpu`.
   * @throws {TypeError} When an operation is neither a kernel nor a function, or `stateful` or `runInMaster` has the wrong type.
   * @throws {RangeError} When `stateful`, `batchSize` or `nCpu` is out of range.
   */
  constructor(ops: readonly Operation[], options?: OperationsOptions) {
    if (!Array.isArray(ops) || ops.length === 0) {
      throw new TypeError(
        `Cannot create Operations: expected a non-empty array of operations, got ${
          check.show(ops)
        }`,
      );
    }
    const o = check.optionsBag("Operations", options);
    this.#nCpu = o.nCpu === undefined
      ? undefined
      : check.positiveInteger("Operations", "nCpu", o.nCpu);
    this.#planned = ops.map((op, i) => {
      if (isKernel(op)) {
        const name = op.exportName;
        return {
          op,
          name,
          given: readMeta(`Cannot create Operations: operation "${name}"`, op.meta),
        };
      }
      if (typeof op !== "function") {
        throw new TypeError(
          `Cannot create Operations: operation ${i + 1} must be a kernel or a function, got ${
            check.show(op)
          }`,
        );
      }
      const name = op.name || `operation ${i + 1}`;
      const given = readMeta(
        `Cannot create Operations: operation "${name}"`,
        op as unknown as Record<string, unknown>,
      );
      return { op, name, given };
    });
  }

  /**
   * Runs the operations over `inputs`. Call it once.
   *
   * @param inputs An iterable, an async iterable or a `ReadableStream`.
   * @returns The outputs, in input order. It errors with a `StageError`
   *   naming the operation and the item when an operation throws.
   * @throws {Error} On a second call.
   */
  apply(inputs: Iterable<I> | AsyncIterable<I> | ReadableStream<I>): ReadableStream<O> {
    if (this.#applied) throw new Error("Operations.apply() can be called only once");
    this.#applied = true;
    let reader: ReadableStreamDefaultReader<O> | undefined;
    const fail = async (error: unknown) => {
      await this.close();
      throw error;
    };
    return new ReadableStream<O>({
      pull: async (controller) => {
        try {
          reader ??= (await this.#chain(inputs)).getReader();
          const { done, value } = await reader.read();
          if (!done) return controller.enqueue(value);
          await this.close();
          controller.close();
        } catch (error) {
          await fail(error);
        }
      },
      cancel: async (reason) => {
        await reader?.cancel(reason);
        await this.close();
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Where each operation runs, and the pools' counters.
   *
   * @returns A snapshot (operations are placed once `apply` starts).
   */
  stats(): OperationsStats {
    return {
      operations: this.#metas.map((meta, i) => ({
        name: this.#planned[i]!.name,
        runs: meta.runInMaster || !isKernel(this.#planned[i]!.op)
          ? "master"
          : meta.stateful === true
          ? "dedicated worker"
          : "pool",
        meta,
      })),
      pool: this.#pool?.stats(),
      dedicated: this.#dedicated.map((p) => p.stats()),
    };
  }

  /**
   * Stops every worker. Idempotent.
   *
   * @returns When the workers are gone.
   */
  close(): Promise<void> {
    this.#closing ??= Promise.all(
      [this.#pool, ...this.#dedicated].map((p) => p?.close()),
    ).then(() => {});
    return this.#closing;
  }

  /** Closes the workers. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // Reads the metadata of every operation, places it, and chains the stages.
  async #chain(
    inputs: Iterable<I> | AsyncIterable<I> | ReadableStream<I>,
  ): Promise<ReadableStream<O>> {
    this.#metas = await Promise.all(this.#planned.map((p) => this.#meta(p)));
    const dedicated =
      this.#metas.filter((m, i) =>
        m.stateful === true && !m.runInMaster && isKernel(this.#planned[i]!.op)
      ).length;
    const nCpu = this.#nCpu ?? Math.max(1, navigator.hardwareConcurrency - dedicated);
    let stream = source(inputs) as ReadableStream<unknown>;
    for (const [i, { op, name }] of this.#planned.entries()) {
      const meta = this.#metas[i]!;
      let call: (input: unknown) => unknown;
      let concurrency = meta.batchSize;
      if (meta.runInMaster || !isKernel(op)) {
        call = isKernel(op) ? await this.#local(op) : op as (input: unknown) => unknown;
        if (meta.runInMaster || meta.stateful === true) concurrency = 1;
      } else {
        let pool: WorkerPool;
        if (meta.stateful === true) {
          pool = new WorkerPool({ size: 1, name: `operation-${name}` });
          this.#dedicated.push(pool);
        } else {
          pool = this.#pool ??= new WorkerPool({ size: nCpu, name: "operations" });
        }
        const { module, exportName } = op;
        call = (input) => pool.run(INVOKE, { module, name: exportName, input });
      }
      if (typeof meta.stateful === "number") stream = stream.pipeThrough(window(meta.stateful));
      stream = stream
        .pipeThrough(map(call, { concurrency, name }))
        .pipeThrough(filter((x: unknown) => x !== undefined, { name: `${name} (outputs)` }));
    }
    return stream as ReadableStream<O>;
  }

  // Given metadata, completed from the export's own properties.
  async #meta(p: Planned): Promise<OpMeta> {
    if (!isKernel(p.op)) return withDefaults(p.given);
    const namespace = await import(p.op.module) as Record<string, unknown>;
    const value = namespace[p.op.exportName];
    const what = `Operation "${p.name}" of ${p.op.module}`;
    if (typeof value !== "function") {
      throw new TypeError(`${what}: the export is not a function or a class, got ${typeof value}`);
    }
    let found = readMeta(what, value as unknown as Record<string, unknown>);
    if (isClass(value)) {
      // Instance variables, as blllib reads them.
      found = { ...found, ...readMeta(what, new (value as new () => Record<string, unknown>)()) };
    }
    return withDefaults({ ...found, ...p.given });
  }

  // A kernel that runs on the main thread.
  async #local(k: Kernel): Promise<(input: unknown) => unknown> {
    const namespace = await import(k.module) as Record<string, unknown>;
    if (!(k.exportName in namespace)) {
      throw new TypeError(`Operation "${k.exportName}": module ${k.module} has no such export`);
    }
    return asCallable(namespace[k.exportName], `"${k.exportName}" of ${k.module}`);
  }
}
