/**
 * `BatchPipeline`: a dataset's lazy chain of actions, run batch by batch.
 *
 * @module
 */

import * as check from "../_internal/validate.ts";
import { actionInfo } from "./action.ts";
import type { Batch } from "./batch.ts";
import type { Dataset } from "./dataset.ts";
import { batchKeys } from "./_batch_order.ts";
import { runBatches, type Step } from "./_batch_run.ts";
import type { TraceEvent } from "./trace.ts";

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
 * ```
 */
export interface GenBatchOptions {
  /**
   * Shuffle the index every epoch: `true` with a random seed, a number to
   * seed it (the same seed gives the same batches).
   *
   * @default {false}
   */
  shuffle?: boolean | number;
  /** How many passes over the dataset (`genBatch` and `run`: 1 unless `nIters`; `nextBatch`: for ever). */
  nEpochs?: number;
  /** How many batches in all (not with `nEpochs`). */
  nIters?: number;
  /**
   * Drop a batch shorter than `batchSize` at the end of each epoch, instead of
   * filling it from the next epoch.
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
  /** Sees each batch's creation and each action's start and end. */
  trace?: (event: TraceEvent) => void;
}

// deno-lint-ignore no-explicit-any
type AnyBatch = Batch<any>;
// deno-lint-ignore no-explicit-any
type AnyDataset<B extends AnyBatch> = Dataset<B, any>;

/**
 * The action names of a batch class: its methods beyond `Batch`'s.
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
  [K in keyof B]: K extends keyof Batch | keyof BatchPipelineBase<Batch> ? never
    : B[K] extends (...args: never[]) => unknown ? K
    : never;
}[keyof B];

/**
 * A lazy, immutable pipeline over a dataset: the methods of
 * `BatchPipelineBase`, and one chain method per `@action` of the batch class,
 * each returning a new pipeline with that action added.
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
 *   @action double() { this.values = this.values.map((x) => 2 * x); }
 * }
 * const loaded: BatchPipeline<Numbers> = new Dataset(4, Numbers).p.load();
 * const doubled: BatchPipeline<Numbers> = loaded.double();
 * assert.deepEqual([loaded.actions, doubled.actions], [["load"], ["load", "double"]]);
 * const [batch] = await Array.fromAsync(doubled.genBatch(4));
 * assert.deepEqual(batch!.values, [0, 2, 4, 6]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export type BatchPipeline<B extends Batch<any>> =
  & BatchPipelineBase<B>
  & { readonly [K in ActionName<B>]: (...args: unknown[]) => BatchPipeline<B> };

let makePipeline: <B extends AnyBatch>(
  dataset: AnyDataset<B>,
  steps: readonly Step[],
) => BatchPipeline<B>;

/** A pipeline over `dataset` with no actions (for `dataset.p`). */
export function emptyPipeline<B extends AnyBatch>(
  dataset: AnyDataset<B>,
): BatchPipeline<B> {
  return makePipeline(dataset, []);
}

/**
 * What every batch pipeline can do: make batches and run the actions on
 * them. Get one from `dataset.p`; chain actions on it by name.
 *
 * @typeParam B The batch class.
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
export class BatchPipelineBase<B extends Batch<any>> implements AsyncDisposable {
  readonly #dataset: AnyDataset<B>;
  readonly #steps: readonly Step[];
  #cursor: { reader: ReadableStreamDefaultReader<B>; size: number } | undefined;

  static {
    makePipeline = <B extends AnyBatch>(
      dataset: AnyDataset<B>,
      steps: readonly Step[],
    ): BatchPipeline<B> => {
      const base = new BatchPipelineBase<B>(dataset, steps);
      const chain = (name: string, args: unknown[]) =>
        makePipeline(base.#dataset, [...base.#steps, { name, args }]);
      return withActions(base, dataset.batchClass.prototype as object, chain);
    };
  }

  private constructor(dataset: AnyDataset<B>, steps: readonly Step[]) {
    this.#dataset = dataset;
    this.#steps = steps;
  }

  /** The names of the actions in this pipeline, in order. */
  get actions(): string[] {
    return this.#steps.map((s) => s.name);
  }

  /**
   * Makes batches of `batchSize` keys and runs the actions on each; one
   * epoch unless `nEpochs` or `nIters` says otherwise.
   *
   * @param batchSize Keys per batch, at most the dataset's size.
   * @param options Epochs, shuffle, `dropLast`, `prefetch`, `trace`.
   * @returns A stream of batches, in creation order.
   * @throws {RangeError} When a number is out of range.
   * @throws {TypeError} When `nEpochs` and `nIters` are both given, or an option has the wrong type.
   */
  genBatch(batchSize: number, options?: GenBatchOptions): ReadableStream<B> {
    return this.#run("genBatch", batchSize, options, 1);
  }

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

  /**
   * Runs every batch through the actions and drops it; one epoch unless
   * `nEpochs` or `nIters` says otherwise.
   *
   * @param batchSize Keys per batch.
   * @param options As for `genBatch`.
   * @returns When the last batch is done.
   */
  async run(batchSize: number, options?: GenBatchOptions): Promise<void> {
    for await (const _ of this.#run("run", batchSize, options, 1));
  }

  /** Stops the batches `nextBatch` was making. */
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
    const o = check.optionsBag(what, options);
    const size = this.#dataset.index.length;
    check.positiveInteger(what, "batchSize", batchSize);
    if (batchSize > size) {
      throw new RangeError(
        `Cannot run ${what}: batchSize ${batchSize} is larger than the dataset (${size} items)`,
      );
    }
    if (o.nEpochs !== undefined && o.nIters !== undefined) {
      throw new TypeError(
        `Cannot run ${what}: give nEpochs or nIters, not both (got nEpochs ${
          check.show(o.nEpochs)
        } and nIters ${check.show(o.nIters)})`,
      );
    }
    const epochs = o.nEpochs === undefined
      ? (o.nIters === undefined ? defaultEpochs : Infinity)
      : check.positiveInteger(what, "nEpochs", o.nEpochs);
    const iters = o.nIters === undefined
      ? Infinity
      : check.positiveInteger(what, "nIters", o.nIters);
    const dropLast = o.dropLast === undefined ? false : check.boolean(what, "dropLast", o.dropLast);
    const prefetch = o.prefetch === undefined ? 0 : check.count(what, "prefetch", o.prefetch);
    let shuffle: false | number = false;
    if (o.shuffle === true) shuffle = crypto.getRandomValues(new Uint32Array(1))[0]!;
    else if (typeof o.shuffle === "number" && Number.isFinite(o.shuffle)) shuffle = o.shuffle;
    else if (o.shuffle !== undefined && o.shuffle !== false) {
      throw new TypeError(
        `Cannot run ${what}: shuffle must be a boolean or a seed number, got ${
          check.show(o.shuffle)
        }`,
      );
    }
    const trace = o.trace === undefined ? undefined : check.callable(what, "trace", o.trace);
    const dataset = this.#dataset;
    return runBatches({
      keys: batchKeys(dataset.index.indices, { size: batchSize, shuffle, epochs, iters, dropLast }),
      make: (keys) => new dataset.batchClass(keys, dataset),
      steps: this.#steps,
      prefetch,
      trace,
    });
  }
}

// The pipeline, with its batch class's actions as chain methods.
function withActions<B extends AnyBatch>(
  base: BatchPipelineBase<B>,
  proto: object,
  chain: (name: string, args: unknown[]) => BatchPipeline<B>,
): BatchPipeline<B> {
  return new Proxy(base, {
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
      return (...args: unknown[]) => chain(key, args);
    },
  }) as BatchPipeline<B>;
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
