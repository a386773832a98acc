/**
 * `Operations`: blllib's chain of stateful and stateless callables.
 *
 * @module
 */

import { checkOptions } from "../_internal/options.ts";
import { show } from "../_internal/validate.ts";
import { filter } from "../stream/filter.ts";
import { map } from "../stream/map.ts";
import { source } from "../stream/source.ts";
import { window } from "../stream/window.ts";
import { isKernel, type Kernel, kernel } from "../exec/kernel.ts";
import { type Executor, kernelStage } from "../exec/kernel_stage.ts";
import type { Pool, PoolStats } from "../exec/pool_types.ts";
import { WorkerPool } from "../exec/worker_pool.ts";
import { LocalPool } from "../exec/local_pool.ts";
import { probeMeta } from "./_meta_probe.ts";
import type { Invocation, invoke } from "./_op_kernel.ts";
import { OP_META, OPERATIONS_OPTIONS, type OpMeta, readMeta, withDefaults } from "./options.ts";

/**
 * An operation: a kernel (a module export: a function, or a class whose
 * instances are called through `call(input)`), or a plain function, which
 * runs on the main thread. Metadata (`stateful`, `batchSize`,
 * `runInMaster`) comes from `kernel(url, name, meta)` or from properties of
 * the function, the class or its instances; what the meta gives wins.
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
 * Options of `new Operations()`: `nCpu` workers of its own for the
 * stateless operations, or a `pool` of yours.
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
 *
 * @example The stateless operations on a pool of yours, left open
 * ```ts
 * import { kernel, Operations, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const fixtures = new URL("../../tests/fixtures/operation_kernels.ts", import.meta.url);
 * await using pool = new WorkerPool({ size: 2, name: "mine" });
 * await using ops = new Operations<number, number>([kernel(fixtures, "negate")], { pool });
 * assert.deepEqual(await Array.fromAsync(ops.apply([1, 2, 3])), [-1, -2, -3]);
 * assert.equal(pool.stats().tasksDone, 3); // one task per input, on the pool given
 * assert.equal(pool.stats().closed, false);
 * assert.throws(() => new Operations([kernel(fixtures, "negate")], { nCpu: 2, pool }), TypeError);
 * ```
 */
export interface OperationsOptions {
  /**
   * Workers for the stateless operations (one pool, shared).
   *
   * @default {the cores left after one per stateful kernel, at least 1}
   */
  nCpu?: number;
  /**
   * A pool of yours (a `WorkerPool`, a `ProcessPool`, a `NatsPool`...) for the stateless kernel
   * operations instead of one of `nCpu` workers (not with `nCpu`); left open. A stateful kernel
   * keeps its dedicated worker, `runInMaster` the main thread.
   */
  pool?: Pool;
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
  /** Per operation: its name, where it runs and its metadata. */
  operations: { name: string; runs: "master" | "dedicated worker" | "pool"; meta: OpMeta }[];
  /**
   * The pool of the stateless operations: the one given as `pool`, or the
   * shared one of `nCpu` workers once made (by `apply`).
   */
  pool: PoolStats | undefined;
  /** The dedicated workers of the stateful kernels. */
  dedicated: PoolStats[];
}

const INVOKE = kernel<typeof invoke>(new URL("./_op_kernel.ts", import.meta.url), "invoke");

interface Planned {
  op: Operation;
  name: string;
  meta: OpMeta;
  /** A kernel whose export is a class, called through an instance's `call`. */
  isClass: boolean;
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
 * With `pool`, the stateless kernel operations run on that pool instead (a
 * `WorkerPool`, a `ProcessPool`, a `NatsPool` of workers on other machines),
 * which stays open. A function export runs there as itself, a kernel like
 * any other. A class export runs through Operations' own kernel
 * (`src/operations/_op_kernel.ts`), which imports the operation's module
 * when first called and keeps one instance per worker: a `ProcessPool`'s
 * children then need read access to that module (`permissions.read`).
 * That kernel imports whatever module a task names, so only a `WorkerPool`
 * or a `ProcessPool` runs class exports in parallel: on any other pool (a
 * `NatsPool`, whose workers run only the modules they allow) a stateless
 * class operation is a `TypeError` at construction. On a `NatsPool` inputs
 * and results travel as JSON (an `undefined` result arrives as `null`).
 *
 * The constructor reads every operation's metadata, including what a
 * kernel's export carries: it imports the kernels' modules in a worker of
 * its own, and waits for it (up to 30 s), so that a module that fails to
 * load, a missing export or an invalid value is an error here.
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
  readonly #nCpu: number;
  readonly #given: Pool | undefined;
  #pool: WorkerPool | undefined;
  readonly #dedicated: WorkerPool[] = [];
  #applied = false;
  #closing: Promise<void> | undefined;

  /**
   * Checks the operations and reads their metadata: the kernels' meta, the
   * functions' properties, and what the kernels' exports carry (their
   * modules are imported in a short-lived worker while this waits).
   *
   * @param ops The operations, in order.
   * @param options `nCpu`, or `pool`.
   * @throws {TypeError} When an operation is neither a kernel nor a function, a kernel's module fails to import or lacks the export, a key of a kernel's meta or of `options` is unknown, `stateful` or `runInMaster` has the wrong type, `pool` is not a pool, or `nCpu` and `pool` are both given.
   * @throws {RangeError} When `stateful`, `batchSize` or `nCpu` is out of range.
   * @throws {Error} When the kernels' modules do not load within 30 s.
   */
  constructor(ops: readonly Operation[], options?: OperationsOptions) {
    const what = "Cannot create Operations";
    if (!Array.isArray(ops) || ops.length === 0) {
      throw new TypeError(`${what}: expected a non-empty array of operations, got ${show(ops)}`);
    }
    const o = checkOptions(what, OPERATIONS_OPTIONS, options);
    if (o.nCpu !== undefined && o.pool !== undefined) {
      throw new TypeError(
        `${what}: give nCpu or pool, not both (got nCpu ${show(o.nCpu)} and a pool)`,
      );
    }
    const given = ops.map((op, i): { name: string; meta: Partial<OpMeta> } => {
      if (isKernel(op)) {
        const name = op.exportName;
        return { name, meta: checkOptions(`${what}: meta of kernel "${name}"`, OP_META, op.meta) };
      }
      if (typeof op !== "function") {
        throw new TypeError(
          `${what}: operation ${i + 1} must be a kernel or a function, got ${show(op)}`,
        );
      }
      const name = op.name || `operation ${i + 1}`;
      return { name, meta: readMeta(`${what}: operation "${name}"`, op) };
    });
    const kernels = ops.filter(isKernel).map(({ module, exportName }) => ({ module, exportName }));
    const found = probeMeta(what, kernels);
    let k = 0;
    this.#planned = ops.map((op, i) => {
      const { name, meta } = given[i]!;
      const own = isKernel(op) ? found[k++]! : { meta: {}, isClass: false };
      return { op, name, meta: withDefaults({ ...own.meta, ...meta }), isClass: own.isClass };
    });
    const dedicated =
      this.#planned.filter(({ op, meta }) =>
        isKernel(op) && meta.stateful === true && !meta.runInMaster
      ).length;
    this.#nCpu = o.nCpu ?? Math.max(1, navigator.hardwareConcurrency - dedicated);
    if (o.pool !== undefined && !(o.pool instanceof LocalPool)) {
      // A class runs through Operations' own kernel, which imports whatever
      // module a task names: a remote worker that allowed it would run any
      // module, past its allowModules. Only function exports go there.
      const remote = this.#planned.find(({ op, meta, isClass }) =>
        isKernel(op) && isClass && !meta.runInMaster && meta.stateful !== true
      );
      if (remote !== undefined) {
        throw new TypeError(
          `${what}: operation "${remote.name}" is a class, and a class runs in parallel only on a WorkerPool or ProcessPool: give a function export for a pool of another kind (its workers run only the modules they allow), or mark it stateful or runInMaster`,
        );
      }
    }
    this.#given = o.pool;
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
    return new ReadableStream<O>({
      pull: async (controller) => {
        try {
          reader ??= this.#chain(inputs).getReader();
          const { done, value } = await reader.read();
          if (!done) return controller.enqueue(value);
          await this.close();
          controller.close();
        } catch (error) {
          await this.close();
          throw error;
        }
      },
      cancel: async (reason) => {
        await reader?.cancel(reason);
        await this.close();
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Where each operation runs, its metadata, and the pools' counters.
   *
   * @returns A snapshot: the operations are placed by the constructor, the
   *   pools are made when `apply` starts.
   */
  stats(): OperationsStats {
    return {
      operations: this.#planned.map(({ op, name, meta }) => ({
        name,
        runs: meta.runInMaster || !isKernel(op)
          ? "master"
          : meta.stateful === true
          ? "dedicated worker"
          : "pool",
        meta,
      })),
      pool: (this.#given ?? this.#pool)?.stats(),
      dedicated: this.#dedicated.map((p) => p.stats()),
    };
  }

  /**
   * Stops every worker of its own (a `pool` given stays open). Idempotent.
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

  // Chains the stages: per operation its windows, its calls, and a filter
  // that drops the undefined outputs.
  #chain(inputs: Iterable<I> | AsyncIterable<I> | ReadableStream<I>): ReadableStream<O> {
    let stream = source(inputs) as ReadableStream<unknown>;
    for (const planned of this.#planned) {
      const { op, name, meta } = planned;
      if (typeof meta.stateful === "number") stream = stream.pipeThrough(window(meta.stateful));
      stream = isKernel(op) ? this.#kernel(stream, op, planned) : stream.pipeThrough(
        map(op as (input: unknown) => unknown, {
          concurrency: meta.stateful === true || meta.runInMaster ? 1 : meta.batchSize,
          name,
        }),
      );
      stream = stream.pipeThrough(
        filter((x: unknown) => x !== undefined, { name: `${name} (outputs)` }),
      );
    }
    return stream as ReadableStream<O>;
  }

  // A kernel's stage, on the main thread, in a dedicated worker, or on the
  // pool of the stateless operations (the one given, or the shared one). A
  // function export is the kernel itself; a class export's inputs become
  // calls of INVOKE, which makes the instance once where it runs.
  #kernel(
    stream: ReadableStream<unknown>,
    op: Kernel,
    { name, meta, isClass }: Planned,
  ): ReadableStream<unknown> {
    let executor: Executor;
    if (meta.runInMaster) {
      executor = "main";
    } else if (meta.stateful === true) {
      const dedicated = new WorkerPool({ size: 1, name: `operation-${name}` });
      this.#dedicated.push(dedicated);
      executor = dedicated;
    } else {
      executor = this.#given ??
        (this.#pool ??= new WorkerPool({ size: this.#nCpu, name: "operations" }));
    }
    const options = { concurrency: meta.runInMaster ? 1 : meta.batchSize, name };
    if (!isClass) {
      const k = op as Kernel<(input: unknown) => unknown>;
      return stream.pipeThrough(kernelStage(k, executor, options));
    }
    const { module, exportName } = op;
    // On the main thread each operation keeps its own instance.
    const home = meta.runInMaster ? {} : undefined;
    const invocation = (input: unknown): Invocation =>
      home === undefined
        ? { module, name: exportName, input }
        : { module, name: exportName, input, home };
    return stream
      .pipeThrough(map(invocation, { name: `${name} (calls)` }))
      .pipeThrough(kernelStage(INVOKE, executor, options));
  }
}
