/**
 * `Pipeline`: a built pipeline, to iterate, read item by item, watch and stop.
 *
 * @module
 */

import { HOOKS, type StageHooks } from "../_internal/hooks.ts";
import { checkOptions } from "../_internal/options.ts";
import { batch } from "../stream/batch.ts";
import { map } from "../stream/map.ts";
import { prefetch } from "../stream/prefetch.ts";
import { BufferedReader } from "../stream/buffered_reader.ts";
import { source } from "../stream/source.ts";
import { StageError } from "../stream/stage_error.ts";
import type { MapOptions, StageStats, StageStream } from "../stream/types.ts";
import { unbatch } from "../stream/unbatch.ts";
import { isKernel, type Kernel } from "../exec/kernel.ts";
import { kernelStage } from "../exec/kernel_stage.ts";
import { PoolSet } from "../exec/pool_set.ts";
import type { Pool } from "../exec/pool_types.ts";
import type { Plan, Step } from "./_plan.ts";
import { PipelineEnded, PipelineFailure, PipelineTimeout } from "./errors.ts";
import { GET_ITEM_OPTIONS } from "./options.ts";
import type { PipelineStats } from "./stats.ts";

/** The reason stages stop with when `stop()` is called. */
const STOPPED = new DOMException("The pipeline was stopped", "AbortError");

interface Running {
  readonly step: Step;
  readonly stats: () => StageStats;
  readonly limit: number;
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined });

/** The key of a checked plan: only the builder, which imports it, makes pipelines. */
export const PLAN: unique symbol = Symbol("conveyor.plan");

/**
 * A pipeline made by `PipelineBuilder.build()`. It starts with `start()` or
 * with the first read; read it with `for await`, `getItem()` or its
 * `readable` (one way only). `stop()`, `await using`, and breaking out of a
 * `for await` end every task, worker and timer it started; a pool passed as
 * an `executor` is left open.
 *
 * @typeParam T The type of the items it gives.
 *
 * @example Read item by item, then stop
 * ```ts
 * import { PipelineBuilder } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * function* naturals() {
 *   for (let i = 0; ; i++) yield i;
 * }
 * await using pipeline = new PipelineBuilder()
 *   .addSource(naturals())
 *   .pipe((x: number) => x * 10, { concurrency: 2, outputOrder: "input" })
 *   .addSink(3)
 *   .build();
 * assert.equal(await pipeline.getItem({ timeout: 1000 }), 0);
 * assert.equal(await pipeline.getItem(), 10);
 * assert.equal(pipeline.stats().stages[0]!.name, "pipe 1");
 * await pipeline.stop();
 * ```
 */
export class Pipeline<T> implements AsyncIterable<T>, AsyncDisposable {
  readonly #plan: Plan;
  readonly #controller = new AbortController();
  readonly #stages: Running[] = [];
  readonly #errors: StageError[] = [];
  readonly #pools: PoolSet;
  /** The pools its stages run on, made by `#pools` or given as executors, in stage order. */
  readonly #poolsUsed = new Set<Pool>();
  /** The sink: reads the last stage, with its buffer (`unknown`, so that a
   * Pipeline<T> stays assignable as its items' type allows). */
  #reader: BufferedReader<unknown> | undefined;
  #readable: ReadableStream<T> | undefined;
  /** The last read asked for, and how many reads wait for the one before. */
  #reading: Promise<unknown> = Promise.resolve();
  #queued = 0;
  #leftover: Promise<IteratorResult<T>> | undefined;
  #failure: PipelineFailure | undefined;
  // Whether #controller aborted: read at every item, cheaper than its signal.
  #aborted = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #started: number | undefined;
  #ended: number | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Not for direct use: `PipelineBuilder.build()` makes pipelines.
   *
   * @param plan What the builder checked, under its internal key.
   * @throws {TypeError} When called with anything else.
   */
  constructor(plan: { readonly [PLAN]: unknown }) {
    const checked = (plan as { [PLAN]?: Plan } | undefined)?.[PLAN];
    if (checked === undefined) {
      throw new TypeError("Pipeline: use new PipelineBuilder()...build() to make a pipeline");
    }
    this.#plan = checked;
    this.#pools = new PoolSet({
      name: "pipeline",
      size: checked.numThreads,
      permissions: checked.processPermissions,
    });
  }

  /**
   * The output stream. Reading it starts the pipeline. It errors with a
   * `PipelineFailure` when a stage fails, and with an `AbortError` when the
   * pipeline is stopped.
   */
  get readable(): ReadableStream<T> {
    this.#readable ??= new ReadableStream<T>({
      pull: async (controller) => {
        try {
          const result = await this.#next();
          if (!result.done) controller.enqueue(result.value);
          else if (this.#stopped()) controller.error(STOPPED);
          else controller.close();
        } catch (error) {
          controller.error(error);
        }
      },
      cancel: () => this.stop(),
    }, { highWaterMark: 0 });
    this.start();
    return this.#readable;
  }

  /** Starts the stages (at once, or with the first read). Idempotent. */
  start(): void {
    if (this.#reader !== undefined) return;
    this.#started = performance.now();
    const signal = this.#controller.signal;
    let stream = source(this.#plan.source) as ReadableStream<unknown>;
    for (const step of this.#plan.steps) {
      if (step.kind === "sink") {
        // The sink is the pipeline's reader: it reads the last stage ahead
        // by bufferSize items, and a read takes one with a single promise.
        if (!BufferedReader.canRead(stream)) stream = stream.pipeThrough(prefetch(1, { signal }));
        const reader = new BufferedReader(stream, step.bufferSize, {
          ended: () => this.#end(),
          failed: (error) => {
            this.#end();
            if (error === STOPPED) return DONE;
            throw this.#failed(error);
          },
        });
        this.#reader = reader;
        this.#stages.push({ step, stats: () => reader.stats(step.name), limit: 0 });
        continue;
      }
      const running = this.#running(step, signal);
      this.#stages.push({ step, stats: () => running.stage.stats(), limit: running.limit });
      stream = stream.pipeThrough(running.stage);
    }
    const { reportStatsInterval, onStats } = this.#plan;
    if (reportStatsInterval !== undefined && reportStatsInterval !== Infinity && onStats) {
      this.#timer = setInterval(() => onStats(this.stats()), reportStatsInterval);
    }
  }

  /**
   * Stops the pipeline: the source is cancelled (a generator's `finally`
   * runs), tasks see their `signal` abort, and the workers it started are
   * closed. Safe to call any number of times.
   *
   * @returns When the workers are gone.
   */
  stop(): Promise<void> {
    if (!this.#aborted) {
      this.#aborted = true;
      this.#controller.abort(STOPPED);
    }
    // What the sink read ahead is dropped.
    void this.#reader?.return(STOPPED);
    this.#end();
    return this.#closing!;
  }

  /**
   * The next item.
   *
   * @param options `timeout`: how long to wait, in ms, at most 2^31 - 1
   *   (default: `Infinity`, no limit).
   * @returns The item.
   * @throws {PipelineTimeout} When no item came within `timeout` (it is kept for the next call).
   * @throws {RangeError} When `timeout` is not a duration a timer can hold.
   * @throws {TypeError} When an option is unknown or `timeout` is not a number.
   * @throws {PipelineEnded} When there are no more items.
   * @throws {PipelineFailure} When a stage failed.
   */
  async getItem(options?: { timeout?: number }): Promise<T> {
    const { timeout = Infinity } = checkOptions("Pipeline.getItem", GET_ITEM_OPTIONS, options);
    const next = this.#leftover ?? this.#next();
    this.#leftover = undefined;
    let result: IteratorResult<T>;
    if (timeout === Infinity) {
      result = await next;
    } else {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), timeout);
      });
      try {
        const first = await Promise.race([next, late]);
        if (first === "late") {
          this.#leftover = next;
          next.catch(() => {}); // reported by the next call
          throw new PipelineTimeout(timeout);
        }
        result = first;
      } finally {
        clearTimeout(timer);
      }
    }
    if (result.done) throw new PipelineEnded();
    return result.value;
  }

  /**
   * Per-stage statistics: items in and out, failures, tasks in flight, busy
   * time, task latency, and how full each stage's output buffer was; and
   * the statistics of the pools its stages run on (those it made and those
   * given as executors; for a `NatsPool`, its remote workers).
   *
   * @returns A snapshot.
   */
  stats(): PipelineStats {
    const now = this.#ended ?? performance.now();
    return {
      elapsedMs: this.#started === undefined ? 0 : now - this.#started,
      done: this.#ended !== undefined,
      // Each stage's own statistics (see StageStats), and its kind.
      stages: this.#stages.map((s) => ({ ...s.stats(), kind: s.step.kind })),
      pools: [...this.#poolsUsed].map((pool) => pool.stats()),
    };
  }

  /**
   * Iterates over the items. Breaking out early stops the pipeline.
   *
   * @returns An async iterator.
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.#next(),
      return: async () => {
        await this.stop();
        return { done: true, value: undefined };
      },
    };
  }

  /** Stops the pipeline and waits for its workers to be gone. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  // Reads the next item; one read at a time, whoever asks. A read with none
  // pending or queued before it (a `for await`) is the sink's own read: no
  // promise besides its one (none made when an item is waiting); a read
  // while another is pending waits for it.
  #next(): Promise<IteratorResult<T>> {
    if (this.#queued === 0 && !(this.#reader?.waiting ?? false)) {
      const read = this.#read();
      this.#reading = read;
      return read;
    }
    this.#queued++;
    const after = () => {
      this.#queued--;
      return this.#read();
    };
    const read = this.#reading.then(after, after);
    this.#reading = read;
    return read;
  }

  #read(): Promise<IteratorResult<T>> {
    if (this.#stopped()) return Promise.resolve(DONE);
    this.start();
    return this.#reader!.next() as Promise<IteratorResult<T>>;
  }

  // Stopped by stop() (not by a failure).
  #stopped(): boolean {
    return this.#aborted && this.#failure === undefined;
  }

  // A step's stage (any but the sink), watched through its hooks: the trace
  // sees its tasks, and the pipeline its failures. The stage meters itself.
  #running(
    step: Step,
    signal: AbortSignal,
  ): { stage: StageStream<unknown, unknown>; limit: number } {
    const limit = step.kind === "pipe" ? step.maxFailures ?? this.#plan.maxFailures : 0;
    const { name } = step;
    const executor = step.kind !== "pipe" || !isKernel(step.op)
      ? "main"
      : typeof step.executor === "string" && step.executor !== "main"
      ? this.#pools.pool(step.executor)
      : step.executor;
    if (executor !== "main") this.#poolsUsed.add(executor);
    const hooks: StageHooks = {};
    if (step.kind === "pipe") {
      const trace = this.#plan.trace;
      if (trace !== undefined) {
        hooks.taskStarted = (index) => trace.begin(name, index);
        hooks.taskEnded = (index, token, ok) => trace.end(name, index, token as number, ok);
      }
      hooks.failed = (index, error) => void this.#errors.push(new StageError(name, index, error));
    }
    const options = { name, signal, [HOOKS]: hooks };
    let stage: StageStream<unknown, unknown>;
    switch (step.kind) {
      case "aggregate":
        stage = batch(step.n, { ...options, dropLast: step.dropLast });
        break;
      case "disaggregate":
        stage = unbatch(options) as StageStream<unknown, unknown>;
        break;
      case "sink":
        throw new Error("unreachable: the sink is the pipeline's reader");
      case "pipe": {
        const policy = {
          ...options,
          ...(step.concurrency === undefined ? {} : { concurrency: step.concurrency }),
          ordered: step.ordered,
          onError: "skip",
          maxFailures: limit,
        } as MapOptions;
        const op = step.op;
        if (!isKernel(op)) {
          stage = map(op as (input: unknown) => unknown, policy);
          break;
        }
        const transfer = step.transfer === undefined ? {} : { transfer: step.transfer };
        stage = kernelStage(op as Kernel<(input: unknown) => unknown>, executor, {
          ...policy,
          ...transfer,
        });
      }
    }
    return { stage, limit };
  }

  // What a read that failed throws: a stage that failed more than its
  // limit becomes a PipelineFailure listing every stage's failures.
  #failed(error: unknown): unknown {
    if (this.#failure !== undefined) return this.#failure;
    if (!(error instanceof StageError)) return error;
    const running = this.#stages.find((s) => s.step.name === error.stage);
    if (running === undefined || running.step.kind !== "pipe") return error;
    this.#failure = new PipelineFailure(this.#errors, error.stage, running.limit);
    this.#aborted = true;
    this.#controller.abort(this.#failure);
    return this.#failure;
  }

  // The output ended (or the pipeline stopped): close what it started.
  #end(): void {
    if (this.#closing !== undefined) return;
    this.#ended = performance.now();
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    if (this.#started !== undefined) this.#plan.onStats?.(this.stats());
    this.#closing = this.#pools.close();
  }
}
