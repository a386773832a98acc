/**
 * `PipelineBuilder`: SPDL's way of describing a pipeline, stage by stage.
 *
 * @module
 */

import { isPositiveInteger, optionProblems, type Problem } from "../_internal/options.ts";
import { show } from "../_internal/validate.ts";
import { isKernel, type Kernel } from "../exec/kernel.ts";
import { transferables } from "../exec/transfer.ts";
import { permissionFlagsOf } from "../exec/process_pool.ts";
import type { TaskContext } from "../stream/types.ts";
import { Pipeline, PLAN } from "./pipeline.ts";
import type { Plan, Step } from "./_plan.ts";
import { AGGREGATE_OPTIONS, BUILD_OPTIONS, PIPE_OPTIONS } from "./options.ts";
import type { BuildOptions, PipeOptions } from "./types.ts";

export type { BuildOptions, PipeOptions } from "./types.ts";

/**
 * What `pipe` runs: a function on the event loop (it gets the item and a
 * `TaskContext`, whose `signal` aborts when the pipeline stops), or a kernel
 * on an executor.
 *
 * @typeParam T The stage's input type.
 * @typeParam U What the stage gives (awaited).
 *
 * @example A function on the event loop, then a kernel on the workers
 * ```ts
 * import { kernel, type Op, PipelineBuilder } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const fixtures = new URL("../../tests/fixtures/kernels.ts", import.meta.url);
 * const addIndex: Op<number, number> = (x, { index }) => x + index;
 * const square: Op<number, number> = kernel<(x: number) => number>(fixtures, "square");
 * await using pipeline = new PipelineBuilder().addSource([1, 2, 3])
 *   .pipe(addIndex).pipe(square, { concurrency: 2, outputOrder: "input" })
 *   .addSink().build({ numThreads: 2 });
 * assert.deepEqual(await Array.fromAsync(pipeline), [1, 9, 25]);
 * ```
 */
export type Op<T, U> =
  | ((input: T, context: TaskContext) => U | PromiseLike<U>)
  | Kernel<(input: T) => U>;

/**
 * What a pipeline reads from.
 *
 * @typeParam T The item type.
 *
 * @example An array, a generator and a stream, read alike
 * ```ts
 * import { PipelineBuilder, type Source } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * async function* generate() {
 *   yield* ["a", "b"];
 * }
 * const sources: Source<string>[] = [["a", "b"], generate(), ReadableStream.from(["a", "b"])];
 * for (const source of sources) {
 *   await using pipeline = new PipelineBuilder().addSource(source).addSink().build();
 *   assert.deepEqual(await Array.fromAsync(pipeline), ["a", "b"]);
 * }
 * ```
 */
export type Source<T> = Iterable<T> | AsyncIterable<T> | ReadableStream<T>;

/**
 * Describes a pipeline: a source, stages, a sink; `build()` checks it all
 * and makes the `Pipeline`. As in SPDL, each `pipe` stage runs up to
 * `concurrency` tasks at once and passes results on in completion order
 * unless `outputOrder: "input"`; a function runs on the event loop, a
 * kernel on the pipeline's worker pool of `numThreads` workers (or the
 * executor given). Methods return the builder, retyped for the next stage.
 *
 * @typeParam T The type of the items at the end of the chain so far.
 *
 * @example Download and preprocess, as in SPDL's guide
 * ```ts
 * import { PipelineBuilder } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const download = async (url: string) => {
 *   await new Promise((resolve) => setTimeout(resolve, 5));
 *   return `data of ${url}`;
 * };
 * const preprocess = (data: string) => data.toUpperCase();
 * const urls = ["a", "b", "c", "d"].map((x) => `https://example.com/${x}`);
 * await using pipeline = new PipelineBuilder()
 *   .addSource(urls)
 *   .pipe(download, { concurrency: 4, outputOrder: "input" })
 *   .pipe(preprocess, { concurrency: 2, outputOrder: "input" })
 *   .addSink(3)
 *   .build({ numThreads: 3 });
 * const out = await Array.fromAsync(pipeline);
 * assert.deepEqual(out, urls.map((u) => `DATA OF ${u.toUpperCase()}`));
 * ```
 */
export class PipelineBuilder<T = never> {
  #source: { value: unknown } | undefined;
  readonly #steps: Step[] = [];
  readonly #problems: string[] = [];
  /** How many of `#problems` are values out of range (RangeErrors). */
  #outOfRange = 0;

  /**
   * Sets where items come from: an array or other iterable, an async
   * iterable (a generator), or a `ReadableStream` (a file, a `fetch` body).
   *
   * @typeParam U The item type.
   * @param source The source.
   * @returns This builder, for items of type `U`.
   */
  addSource<U>(source: Source<U>): PipelineBuilder<U> {
    if (this.#source !== undefined) this.#problems.push("addSource() was called twice");
    else if (this.#steps.length > 0) this.#problems.push("addSource() must come before any stage");
    if (!isSource(source)) {
      this.#problems.push(
        `the source must be an iterable, an async iterable or a ReadableStream, got ${
          show(source)
        }`,
      );
    }
    this.#source = { value: source };
    return this as unknown as PipelineBuilder<U>;
  }

  /**
   * Adds a stage that runs `op` on every item.
   *
   * @typeParam U What `op` returns (awaited).
   * @param op A function (runs on the event loop) or a kernel (runs on an executor).
   * @param options `concurrency` (default 1; `"auto"`: the stage picks it
   *   while it runs), `outputOrder` (default
   *   `"completion"`), `name`, `maxFailures` (default: the pipeline's),
   *   `executor` (for kernels: `"workers"` by default, `"processes"`,
   *   `"main"`, or a pool).
   * @returns This builder, for items of type `U`.
   */
  pipe<U>(op: Op<T, U>, options?: PipeOptions): PipelineBuilder<Awaited<U>> {
    const at = this.#at("pipe");
    const kernel = isKernel(op);
    if (!kernel && typeof op !== "function") {
      this.#problems.push(`${at}: op must be a function or a kernel, got ${show(op)}`);
    }
    const fine = this.#report(optionProblems(at, PIPE_OPTIONS, options));
    const o: PipeOptions = fine ? options ?? {} : {};
    const { executor, transfer } = o;
    if (!kernel && executor !== undefined && executor !== "main") {
      this.#problems.push(
        `${at}: only a kernel can run on executor ${
          typeof executor === "string" ? `"${executor}"` : "a pool"
        }; a function runs on the event loop`,
      );
    }
    if (transfer !== undefined && transfer !== false && !kernel) {
      this.#problems.push(
        `${at}: transfer applies to a kernel; a function gets its input as it is`,
      );
    }
    const name = o.name ?? (kernel ? (op as Kernel).exportName : (op as { name?: string }).name) ??
      "";
    this.#steps.push({
      kind: "pipe",
      transfer: transfer === true
        ? transferables
        : typeof transfer === "function"
        ? transfer as (input: unknown) => Transferable[]
        : undefined,
      op: op as Step & { kind: "pipe" } extends { op: infer F } ? F : never,
      name: name === "" || name === "anonymous" ? `pipe ${this.#steps.length + 1}` : name,
      concurrency: o.concurrency,
      ordered: o.outputOrder === "input",
      maxFailures: o.maxFailures,
      executor: executor ?? (kernel ? "workers" : "main"),
    });
    return this as unknown as PipelineBuilder<Awaited<U>>;
  }

  /**
   * Adds a stage that gathers items into arrays of `n`.
   *
   * @param n The batch size, a positive integer.
   * @param options `dropLast`: drop a last batch shorter than `n`.
   * @returns This builder, for arrays of items.
   */
  aggregate(n: number, options?: { dropLast?: boolean }): PipelineBuilder<T[]> {
    const at = this.#at("aggregate");
    if (!isPositiveInteger()(n)) {
      this.#report([{
        message: `${at}: n must be a positive integer, got ${show(n)}`,
        range: typeof n === "number",
      }]);
    }
    const fine = this.#report(optionProblems(at, AGGREGATE_OPTIONS, options));
    const dropLast = (fine ? options?.dropLast : undefined) ?? false;
    this.#steps.push({ kind: "aggregate", n, dropLast, name: `aggregate(${n})` });
    return this as unknown as PipelineBuilder<T[]>;
  }

  /**
   * Adds a stage that passes on the items of each array (or other iterable).
   *
   * @returns This builder, for the items' items.
   */
  disaggregate(): PipelineBuilder<T extends Iterable<infer E> ? E : never> {
    this.#at("disaggregate");
    this.#steps.push({ kind: "disaggregate", name: "disaggregate" });
    return this as unknown as PipelineBuilder<T extends Iterable<infer E> ? E : never>;
  }

  /**
   * Ends the chain with a buffer of `bufferSize` finished items, kept ready
   * ahead of the consumer (the prefetch depth).
   *
   * @param bufferSize A positive integer.
   * @returns This builder.
   */
  addSink(bufferSize = 3): PipelineBuilder<T> {
    const at = this.#at("addSink");
    if (!isPositiveInteger()(bufferSize)) {
      this.#report([{
        message: `${at}: bufferSize must be a positive integer, got ${show(bufferSize)}`,
        range: typeof bufferSize === "number",
      }]);
    }
    this.#steps.push({ kind: "sink", bufferSize, name: "sink" });
    return this;
  }

  /**
   * Checks the whole description and makes the pipeline. It starts with
   * `start()`, or with the first read.
   *
   * @param options `numThreads` (the worker pool's size, default: the number
   *   of cores), `maxFailures` (per stage, default 0), `reportStatsInterval`
   *   (ms) with `onStats`, and `trace` (a `TraceRecorder`).
   * @returns The pipeline.
   * @throws {TypeError} Listing every mistake: no source, no sink, a stage
   *   after the sink, a bad option.
   * @throws {RangeError} The same list, when every mistake is a number out
   *   of range.
   */
  build(options?: BuildOptions): Pipeline<T> {
    const problems = [...this.#problems];
    let outOfRange = this.#outOfRange;
    if (this.#source === undefined) problems.push("no source: call addSource() first");
    if (!this.#steps.some((s) => s.kind === "sink")) problems.push("no sink: call addSink() last");
    const found = optionProblems("build", BUILD_OPTIONS, options);
    const o: BuildOptions = typeof options === "object" && options !== null ? options : {};
    if (found.length === 0 && o.processPermissions !== undefined) {
      try {
        permissionFlagsOf(o.processPermissions);
      } catch (error) {
        found.push({ message: `build: ${(error as Error).message}`, range: false });
      }
    }
    if (o.reportStatsInterval !== undefined && o.onStats === undefined) {
      found.push({
        message: "build: reportStatsInterval needs onStats to report to",
        range: false,
      });
    }
    for (const p of found) {
      problems.push(p.message);
      if (p.range) outOfRange++;
    }
    if (problems.length > 0) {
      // A RangeError when every problem is a value out of range.
      const Problem = outOfRange === problems.length ? RangeError : TypeError;
      throw new Problem(
        `Cannot build pipeline: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
          problems.map((p) => `  - ${p}`).join("\n"),
      );
    }
    const plan: Plan = {
      source: this.#source!.value as Source<unknown>,
      steps: [...this.#steps],
      numThreads: o.numThreads ?? navigator.hardwareConcurrency,
      maxFailures: o.maxFailures ?? 0,
      reportStatsInterval: o.reportStatsInterval,
      onStats: o.onStats,
      trace: o.trace,
      processPermissions: o.processPermissions,
    };
    return new Pipeline<T>({ [PLAN]: plan });
  }

  // "step N (kind)", noting a stage after the sink.
  #at(kind: string): string {
    const at = `step ${this.#steps.length + 1} (${kind})`;
    if (this.#steps.some((s) => s.kind === "sink")) {
      this.#problems.push(`${at}: nothing may follow the sink`);
    }
    return at;
  }

  // Records problems; whether there were none.
  #report(problems: readonly Problem[]): boolean {
    for (const p of problems) {
      this.#problems.push(p.message);
      if (p.range) this.#outOfRange++;
    }
    return problems.length === 0;
  }
}

function isSource(value: unknown): boolean {
  if (value instanceof ReadableStream) return true;
  if (value === null || value === undefined) return false;
  const o = Object(value);
  return Symbol.iterator in o || Symbol.asyncIterator in o;
}
