/**
 * `BatchPipeline`: a dataset's lazy chain of actions, run batch by batch.
 *
 * @module
 */

import { badValue, checkOptions } from "../_internal/options.ts";
import { show } from "../_internal/validate.ts";
import type { Pool } from "../exec/pool_types.ts";
import type { Batch } from "./batch.ts";
import type { Dataset } from "./dataset.ts";
import type { InbatchOptionsMarker } from "./inbatch_parallel.ts";
import { BATCH_SIZE, GEN_BATCH_OPTIONS } from "./options.ts";
import type { BatchRunStats } from "./stats.ts";
import type { TraceEvent } from "./trace.ts";
import type { BatchTraceRecorder } from "./trace_recorder.ts";
import { batchKeys } from "./_batch_order.ts";
import { runBatches, type Step } from "./_batch_run.ts";
import { actionInfo } from "./_symbols.ts";

/**
 * Options of `genBatch`, `nextBatch` and `run`.
 *
 * @example Two seeded epochs, short batches dropped
 * ```ts
 * import { Batch, Dataset, type GenBatchOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const options: GenBatchOptions = { shuffle: 42, nEpochs: 2, dropLast: true, prefetch: 1 };
 * const pipeline = new Dataset(5, Batch<number>).p;
 * const keys = () => Array.fromAsync(pipeline.genBatch(2, options), (b) => b.indices);
 * const first = await keys();
 * assert.equal(first.length, 4); // two batches of 2 per epoch; the fifth key is dropped
 * assert.deepEqual(await keys(), first); // the same seed, the same batches
 * assert.throws(() => pipeline.genBatch(2, { prefech: 2 } as GenBatchOptions), /did you mean prefetch\?/);
 * ```
 *
 * @example The in-batch kernels of a run on a pool of yours
 * ```ts
 * import { action, Batch, Dataset, inbatchParallel, kernel, type Kernel, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const fixtures = new URL("../../tests/fixtures/batch_kernels.ts", import.meta.url);
 * class Sums extends Batch<number> {
 *   out: unknown[] = [];
 *   items(): readonly number[] { return this.indices; }
 *   keep(results: unknown[]): this { this.out = results; return this; }
 *   @action
 *   @inbatchParallel({ init: "items", post: "keep", target: "workers" })
 *   add(_offset: number): Kernel { return kernel(fixtures, "add"); }
 * }
 * await using pool = new WorkerPool({ size: 2 });
 * const batches = new Dataset([1, 2, 3], Sums).p.add(10).genBatch(3, { pool });
 * const [batch] = await Array.fromAsync(batches);
 * assert.deepEqual(batch!.out, [11, 12, 13]);
 * assert.equal(pool.stats().tasksDone, 3); // and the pool is still open
 * assert.equal(pool.stats().closed, false);
 * ```
 */
export interface GenBatchOptions {
  /**
   * Shuffle the index every epoch: `true` with a random seed, a number to seed it (the same seed
   * gives the same batches).
   *
   * @default {false}
   */
  shuffle?: boolean | number;
  /**
   * How many passes over the dataset (not with `nIters`).
   *
   * @default {1 for `genBatch` and `run` unless `nIters` is given; for ever for `nextBatch`}
   */
  nEpochs?: number;
  /** How many batches in all (not with `nEpochs`). */
  nIters?: number;
  /**
   * Drop a batch shorter than `batchSize` at the end of each epoch, instead of filling it from the
   * next epoch.
   *
   * @default {false}
   */
  dropLast?: boolean;
  /**
   * How many batches beyond the one the consumer waits for run at once.
   *
   * @default {0}
   */
  prefetch?: number;
  /**
   * A function: sees each batch's creation and each action's start and end. A `BatchTraceRecorder`:
   * records the run as a Chrome trace (one track per batch in flight, spans for actions and lock
   * waits).
   */
  trace?: ((event: TraceEvent) => void) | BatchTraceRecorder;
  /**
   * Calls `onStats` this often (ms, above 0 and at most 2^31 - 1) while the run goes on, and once
   * at its end. `Infinity`: only at the end.
   *
   * @default {Infinity}
   */
  reportStatsInterval?: number;
  /**
   * Receives the run's statistics per action: calls, failures, busy time, latency, lock waits (see
   * `reportStatsInterval`).
   */
  onStats?: (stats: BatchRunStats) => void;
  /**
   * A pool of yours (a `WorkerPool`, a `ProcessPool`, a `NatsPool`...) for the "workers",
   * "processes" and "mpc" in-batch calls of this run, instead of the pools it makes; left open.
   *
   * @default {the run's own pools, made on first use and closed with it}
   */
  pool?: Pool;
}

// deno-lint-ignore no-explicit-any
type AnyBatch = Batch<any>;
// deno-lint-ignore no-explicit-any
type AnyDataset<B extends AnyBatch> = Dataset<B, any>;

/**
 * The action names of a batch class: its methods beyond `Batch`'s (and
 * beyond the pipeline's own `actions`, `genBatch`, `nextBatch`, `run`).
 *
 * @typeParam B The batch class.
 *
 * @example The names a pipeline can chain
 * ```ts
 * import { action, type ActionName, Batch, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Images extends Batch<string> {
 *   @action load() {}
 *   @action resize(_size: number) {}
 * }
 * const names: ActionName<Images>[] = ["load", "resize"];
 * // @ts-expect-error: `size` is `Batch`'s, not an action
 * const notAnAction: ActionName<Images> = "size";
 * const pipeline = new Dataset(["a.jpg"], Images).p.load().resize(64);
 * assert.deepEqual(pipeline.actions, names);
 * ```
 */
export type ActionName<B> = {
  [K in keyof B]: K extends keyof Batch | "actions" | "genBatch" | "nextBatch" | "run" ? never
    : B[K] extends (...args: never[]) => unknown ? K
    : never;
}[keyof B];

/**
 * The arguments a pipeline's chain method takes for an action whose method
 * has the parameters `P`: the action's arguments, then optionally an
 * `inbatchOptions()` marker. For a plain action those are its parameters.
 * An `@inbatchParallel` method is declared per item, with the entry's
 * parameters first: its action arguments are the parameters after them.
 * TypeScript cannot tell the two kinds apart, so the chain method takes
 * the parameters or any trailing part of them; each argument given is
 * checked against the parameter it lands on.
 *
 * @typeParam P The action method's parameters.
 *
 * @example The calls of `brighten(pixel: number, by: number)`, per item
 * ```ts
 * import { type ActionArgs, inbatchOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const calls: unknown[][] = [];
 * const brighten = (...args: ActionArgs<[pixel: number, by: number]>) => calls.push(args);
 * brighten(10);
 * brighten(10, inbatchOptions({ nWorkers: 2 }));
 * brighten(1, 10); // the type cannot tell: this is the call of a plain action
 * // @ts-expect-error: `by` takes a number
 * brighten("10");
 * assert.equal(calls.length, 4);
 * ```
 */
export type ActionArgs<P extends readonly unknown[]> =
  | P
  | [...P, InbatchOptionsMarker]
  | (P extends readonly [] ? never
    : P extends readonly [unknown, ...infer R] ? ActionArgs<R>
    : number extends P["length"] ? never
    : P extends readonly [unknown?, ...infer R] ? ActionArgs<R>
    : never);

/**
 * A lazy, immutable pipeline over a dataset (get one from `dataset.p`): it
 * makes batches and runs the actions on them, and has one chain method per
 * `@action` of the batch class, each returning a new pipeline with that
 * action added. A chain method takes the action's arguments (`ActionArgs`):
 * `p.resize("x")` where `resize(size: number)` fails to type-check, as a
 * name the batch class lacks does.
 *
 * @typeParam B The batch class.
 *
 * @example Each action call makes a new pipeline
 * ```ts
 * import { action, Batch, type BatchPipeline, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Numbers extends Batch<number> {
 *   values: number[] = [];
 *   @action load() { this.values = [...this.indices]; }
 *   @action scale(by: number) { this.values = this.values.map((x) => by * x); }
 * }
 * const loaded: BatchPipeline<Numbers> = new Dataset(4, Numbers).p.load();
 * const doubled: BatchPipeline<Numbers> = loaded.scale(2);
 * assert.deepEqual([loaded.actions, doubled.actions], [["load"], ["load", "scale"]]);
 * const [batch] = await Array.fromAsync(doubled.genBatch(4));
 * assert.deepEqual(batch!.values, [0, 2, 4, 6]);
 * // @ts-expect-error: scale takes a number
 * assert.throws(() => loaded.scale("2").missing());
 * ```
 *
 * @example Three actions, two batches ahead
 * ```ts
 * import { action, Batch, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Numbers extends Batch<number> {
 *   values: number[] = [];
 *   @action load() {
 *     this.values = [...this.indices];
 *   }
 *   @action async double() {
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     this.values = this.values.map((x) => 2 * x);
 *   }
 *   @action increment(by: number) {
 *     this.values = this.values.map((x) => x + by);
 *   }
 * }
 * const pipeline = new Dataset(6, Numbers).p.load().double().increment(1);
 * const out = [];
 * for await (const batch of pipeline.genBatch(4, { prefetch: 2 })) out.push(batch.values);
 * assert.deepEqual(out, [[1, 3, 5, 7], [9, 11]]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export type BatchPipeline<B extends Batch<any>> =
  & {
    /** The names of the actions in this pipeline, in order. */
    readonly actions: string[];
    /**
     * Makes batches of `batchSize` keys and runs the actions on each; one
     * epoch unless `nEpochs` or `nIters` says otherwise.
     *
     * @param batchSize Keys per batch, at most the dataset's size.
     * @param options Epochs, shuffle, `dropLast`, `prefetch`, `trace`, `onStats`, `pool`.
     * @returns A stream of batches, in creation order.
     * @throws {RangeError} When a number is out of range.
     * @throws {TypeError} When `nEpochs` and `nIters` are both given, an option has the wrong
     * type, or an option is unknown (with the closest known one).
     */
    genBatch(batchSize: number, options?: GenBatchOptions): ReadableStream<B>;
    /**
     * The next batch of this pipeline object: each call continues where the
     * last one stopped. Runs for ever unless `nEpochs` or `nIters` is given.
     * The first call's options hold for the later ones.
     *
     * @param batchSize Keys per batch (the same on every call).
     * @param options As for `genBatch`, on the first call.
     * @returns The next batch.
     * @throws {RangeError} When the batches have run out, or a number is out of range.
     */
    nextBatch(batchSize: number, options?: GenBatchOptions): Promise<B>;
    /**
     * Runs every batch through the actions and drops it; one epoch unless
     * `nEpochs` or `nIters` says otherwise.
     *
     * @param batchSize Keys per batch.
     * @param options As for `genBatch`.
     * @returns When the last batch is done.
     */
    run(batchSize: number, options?: GenBatchOptions): Promise<void>;
    /** Stops the batches `nextBatch` was making. */
    [Symbol.asyncDispose](): Promise<void>;
  }
  & {
    readonly [K in ActionName<B>]: B[K] extends (...args: infer P) => unknown
      ? (...args: ActionArgs<P>) => BatchPipeline<B>
      : never;
  };

/** A pipeline over `dataset` with no actions (for `dataset.p`). */
export function emptyPipeline<B extends AnyBatch>(dataset: AnyDataset<B>): BatchPipeline<B> {
  return pipeline(dataset, []);
}

// A pipeline: its own methods, and one chain method per action of the batch
// class, which makes a pipeline with one more step.
function pipeline<B extends AnyBatch>(
  dataset: AnyDataset<B>,
  steps: readonly Step[],
): BatchPipeline<B> {
  const proto = dataset.batchClass.prototype as object;
  return new Proxy(new Runner(dataset, steps), {
    get(target, key) {
      if (typeof key === "symbol" || key in target || key === "then") {
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      if (actionInfo((proto as Record<string, unknown>)[key]) === undefined) {
        const names = actionNames(proto);
        throw new TypeError(
          `${proto.constructor.name} has no action "${key}" (its actions: ${
            names.join(", ") || "none"
          })`,
        );
      }
      return (...args: unknown[]) => pipeline(dataset, [...steps, { name: key, args }]);
    },
  }) as unknown as BatchPipeline<B>;
}

// What a pipeline does with its steps (the methods of `BatchPipeline`).
class Runner<B extends AnyBatch> implements AsyncDisposable {
  readonly #dataset: AnyDataset<B>;
  readonly #steps: readonly Step[];
  #cursor: { reader: ReadableStreamDefaultReader<B>; size: number } | undefined;

  constructor(dataset: AnyDataset<B>, steps: readonly Step[]) {
    this.#dataset = dataset;
    this.#steps = steps;
  }

  get actions(): string[] {
    return this.#steps.map((s) => s.name);
  }

  genBatch(batchSize: number, options?: GenBatchOptions): ReadableStream<B> {
    return this.#run("genBatch", batchSize, options, 1);
  }

  async nextBatch(batchSize: number, options?: GenBatchOptions): Promise<B> {
    if (this.#cursor === undefined) {
      const stream = this.#run("nextBatch", batchSize, options, Infinity);
      this.#cursor = { reader: stream.getReader(), size: batchSize };
    } else if (this.#cursor.size !== batchSize) {
      throw new RangeError(
        `nextBatch: batchSize ${batchSize} differs from the first call's ${this.#cursor.size}`,
      );
    }
    const { done, value } = await this.#cursor.reader.read();
    if (done) throw new RangeError("nextBatch: the batches have run out");
    return value;
  }

  async run(batchSize: number, options?: GenBatchOptions): Promise<void> {
    for await (const _ of this.#run("run", batchSize, options, 1));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const cursor = this.#cursor;
    this.#cursor = undefined;
    await cursor?.reader.cancel();
  }

  #run(
    what: string,
    batchSize: number,
    options: GenBatchOptions | undefined,
    defaultEpochs: number,
  ): ReadableStream<B> {
    const o = checkOptions(what, GEN_BATCH_OPTIONS, options);
    if (o.reportStatsInterval !== undefined && o.onStats === undefined) {
      throw new TypeError(`${what}: reportStatsInterval needs onStats to report to`);
    }
    if (!BATCH_SIZE.test(batchSize)) {
      const message = badValue(what, "batchSize", BATCH_SIZE, batchSize);
      throw typeof batchSize === "number" ? new RangeError(message) : new TypeError(message);
    }
    const size = this.#dataset.index.length;
    if (batchSize > size) {
      throw new RangeError(
        `${what}: batchSize ${batchSize} is larger than the dataset (${size} items)`,
      );
    }
    if (o.nEpochs !== undefined && o.nIters !== undefined) {
      throw new TypeError(
        `${what}: give nEpochs or nIters, not both (got nEpochs ${show(o.nEpochs)} and nIters ${
          show(o.nIters)
        })`,
      );
    }
    const epochs = o.nEpochs ?? (o.nIters === undefined ? defaultEpochs : Infinity);
    const shuffle = o.shuffle === true
      ? crypto.getRandomValues(new Uint32Array(1))[0]!
      : o.shuffle ?? false;
    const dataset = this.#dataset;
    return runBatches({
      keys: batchKeys(dataset.index.indices, {
        size: batchSize,
        shuffle,
        epochs,
        iters: o.nIters ?? Infinity,
        dropLast: o.dropLast ?? false,
      }),
      make: (keys) => new dataset.batchClass(keys, dataset),
      steps: this.#steps,
      prefetch: o.prefetch ?? 0,
      what,
      trace: typeof o.trace === "function" ? o.trace : undefined,
      recorder: typeof o.trace === "object" ? o.trace : undefined,
      onStats: o.onStats,
      reportStatsInterval: o.reportStatsInterval,
      pool: o.pool,
    });
  }
}

// The actions of a batch class, its ancestors' included.
function actionNames(proto: object): string[] {
  const names = new Set<string>();
  for (
    let p: object | null = proto;
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    for (const name of Object.getOwnPropertyNames(p)) {
      const value = Object.getOwnPropertyDescriptor(p, name)?.value;
      if (actionInfo(value) !== undefined) names.add(name);
    }
  }
  return [...names].sort();
}
