/**
 * `Pipeline`: a built pipeline, to iterate, read item by item, watch and stop.
 *
 * @module
 */

import { attachProbe } from "../stream/_stage.ts";
import { durationExpected, isDuration, show } from "../stream/_validate.ts";
import { batch } from "../stream/batch.ts";
import { map } from "../stream/map.ts";
import { prefetch } from "../stream/prefetch.ts";
import { source } from "../stream/source.ts";
import { StageError } from "../stream/stage_error.ts";
import type { StageStream, TaskContext } from "../stream/types.ts";
import { unbatch } from "../stream/unbatch.ts";
import { isKernel, type Kernel } from "../exec/kernel.ts";
import { loadKernel } from "../exec/_kernel_loader.ts";
import { isTransfer } from "../exec/transfer.ts";
import type { Pool } from "../exec/pool_types.ts";
import { ProcessPool } from "../exec/process_pool.ts";
import { WorkerPool } from "../exec/worker_pool.ts";
import type { Plan, Step } from "./_plan.ts";
import { PipelineEnded, PipelineFailure, TimeoutError } from "./errors.ts";
import type { PipelineStats } from "./stats.ts";
import { StageMeter } from "./stage_meter.ts";

/** The reason stages stop with when `stop()` is called. */
const STOPPED = new DOMException("The pipeline was stopped", "AbortError");

interface Running {
  readonly step: Step;
  readonly stage: StageStream<unknown, unknown>;
  readonly meter: StageMeter;
  readonly limit: number;
  failures: number;
}

let create: (plan: Plan) => Pipeline<unknown>;

/** Makes a pipeline from a checked plan (for `PipelineBuilder.build`). */
export function createPipeline(plan: Plan): Pipeline<unknown> {
  return create(plan);
}

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
  readonly #owned: Pool[] = [];
  #readable: ReadableStream<T> | undefined;
  #iterator: AsyncIterator<T> | undefined;
  #reading: Promise<unknown> = Promise.resolve();
  #readingNow = false;
  #leftover: Promise<IteratorResult<T>> | undefined;
  #failure: PipelineFailure | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #started: number | undefined;
  #ended: number | undefined;
  #closing: Promise<void> | undefined;

  static {
    create = (plan) => new Pipeline(plan);
  }

  private constructor(plan: Plan) {
    this.#plan = plan;
  }

  /**
   * The output stream. Reading it starts the pipeline. It errors with a
   * `PipelineFailure` when a stage fails, and with an `AbortError` when the
   * pipeline is stopped.
   */
  get readable(): ReadableStream<T> {
    this.start();
    return this.#readable!;
  }

  /** Starts the stages (at once, or with the first read). Idempotent. */
  start(): void {
    if (this.#readable !== undefined) return;
    this.#started = performance.now();
    const signal = this.#controller.signal;
    let stream = source(this.#plan.source) as ReadableStream<unknown>;
    for (const step of this.#plan.steps) {
      const stage = this.#stage(step, signal);
      const concurrency = step.kind === "pipe" ? step.concurrency : 1;
      const meter = new StageMeter(step.name, step.kind, concurrency);
      const limit = step.kind === "pipe"
        ? step.maxFailures ?? this.#plan.maxFailures
        : this.#plan.maxFailures;
      this.#stages.push({ step, stage, meter, limit, failures: 0 });
      const last = step.kind === "sink";
      attachProbe(stage as StageStream<never, unknown>, {
        buffer: (size, capacity) => meter.buffer(size, capacity),
        ended: () => {
          if (last) this.#end();
        },
      });
      stream = stream.pipeThrough(stage);
    }
    this.#readable = stream as ReadableStream<T>;
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
    if (!this.#controller.signal.aborted) this.#controller.abort(STOPPED);
    this.#end();
    return this.#closing!;
  }

  /**
   * The next item.
   *
   * @param options `timeout`: how long to wait, in ms, at most 2^31 - 1
   *   (default: `Infinity`, no limit).
   * @returns The item.
   * @throws {TimeoutError} When no item came within `timeout` (it is kept for the next call).
   * @throws {RangeError} When `timeout` is not a duration a timer can hold.
   * @throws {PipelineEnded} When there are no more items.
   * @throws {PipelineFailure} When a stage failed.
   */
  async getItem(options?: { timeout?: number }): Promise<T> {
    const timeout = options?.timeout ?? Infinity;
    if (!isDuration(timeout, ">= 0")) {
      const message = `Pipeline.getItem: timeout must be ${durationExpected(">= 0")}, got ${
        show(timeout)
      }`;
      throw typeof timeout === "number" ? new RangeError(message) : new TypeError(message);
    }
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
          throw new TimeoutError(timeout);
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
   * time, task latency, and how full each stage's output buffer was.
   *
   * @returns A snapshot.
   */
  stats(): PipelineStats {
    const now = this.#ended ?? performance.now();
    return {
      elapsedMs: this.#started === undefined ? 0 : now - this.#started,
      done: this.#ended !== undefined,
      stages: this.#stages.map((s) => {
        const c = s.stage.stats();
        return s.meter.report({
          itemsIn: c.itemsIn,
          itemsOut: c.itemsOut,
          failures: s.step.kind === "pipe" ? s.failures : c.failures,
          inFlight: c.inFlight,
        });
      }),
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

  // Reads the next item; one read at a time, whoever asks.
  #next(): Promise<IteratorResult<T>> {
    // One read at a time, whoever asks: a read waits for the one before.
    const read = this.#readingNow ? this.#reading.then(() => this.#read()) : this.#read();
    this.#readingNow = true;
    const settled = read.then(
      () => {
        if (this.#reading === settled) this.#readingNow = false;
      },
      () => {
        if (this.#reading === settled) this.#readingNow = false;
      },
    );
    this.#reading = settled;
    return read;
  }

  async #read(): Promise<IteratorResult<T>> {
    if (this.#controller.signal.aborted && this.#failure === undefined) {
      return { done: true, value: undefined };
    }
    this.#iterator ??= this.readable.values();
    try {
      const result = await this.#iterator.next();
      if (result.done) this.#end();
      return result;
    } catch (error) {
      this.#end();
      if (error === STOPPED) return { done: true, value: undefined };
      throw this.#failure ?? error;
    }
  }

  #stage(step: Step, signal: AbortSignal): StageStream<unknown, unknown> {
    switch (step.kind) {
      case "aggregate":
        return batch(step.n, { dropLast: step.dropLast, name: step.name, signal });
      case "disaggregate":
        return unbatch({ name: step.name, signal }) as StageStream<unknown, unknown>;
      case "sink":
        return prefetch(step.bufferSize, { name: step.name, signal });
      case "pipe":
        return map(this.#task(step), {
          concurrency: step.concurrency,
          ordered: step.ordered,
          name: step.name,
          onError: "skip",
          signal,
        });
    }
  }

  // A pipe stage's task: the op on its executor, timed, traced, and with
  // failures counted against the stage's limit. A synchronous op's result
  // passes straight through, without a promise.
  #task(step: Step & { kind: "pipe" }): (input: unknown, ctx: TaskContext) => unknown {
    const call = this.#call(step);
    const trace = this.#plan.trace;
    const index = this.#stages.length;
    const name = step.name;
    return (input, ctx) => {
      const running = this.#stages[index]!;
      const started = running.meter.taskStarted();
      const token = trace?.begin(name, ctx.index);
      let value: unknown;
      try {
        value = call(input, ctx);
      } catch (error) {
        return this.#taskEnded(running, ctx, started, token, error);
      }
      if (!isThenable(value)) {
        this.#taskEnded(running, ctx, started, token);
        return value;
      }
      return value.then((result) => {
        this.#taskEnded(running, ctx, started, token);
        return result;
      }, (error) => this.#taskEnded(running, ctx, started, token, error));
    };
  }

  // Times and traces a finished task; with `error` (a failure), counts it
  // against the stage's limit and throws it on.
  #taskEnded(
    running: Running,
    ctx: TaskContext,
    started: number,
    token: number | undefined,
    ...failure: [error: unknown] | []
  ): undefined {
    running.meter.taskEnded(started);
    const name = running.step.name;
    if (token !== undefined) this.#plan.trace!.end(name, ctx.index, token, failure.length === 0);
    if (failure.length === 0) return;
    if (!ctx.signal.aborted) this.#failed(running, ctx.index, failure[0]);
    throw failure[0];
  }

  #call(step: Step & { kind: "pipe" }): (input: unknown, ctx: TaskContext) => unknown {
    const op = step.op;
    if (!isKernel(op)) return op as (input: unknown, ctx: TaskContext) => unknown;
    const k = op as Kernel<(input: unknown) => unknown>;
    if (step.executor === "main") {
      let fn: Promise<(input: unknown) => unknown> | undefined;
      return async (input) => {
        const value = await (await (fn ??= loadKernel(k.module, k.exportName)))(input);
        return isTransfer(value) ? value.value : value;
      };
    }
    const pool = this.#pool(step.executor);
    const pick = step.transfer;
    if (pick === undefined) return (input, ctx) => pool.run(k, input, { signal: ctx.signal });
    return (input, ctx) => pool.run(k, input, { signal: ctx.signal, transfer: pick(input) });
  }

  #pool(executor: "workers" | "processes" | Pool): Pool {
    if (typeof executor !== "string") return executor;
    const Kind = executor === "workers" ? WorkerPool : ProcessPool;
    let pool = this.#owned.find((p) => p instanceof Kind);
    if (pool === undefined) {
      pool = executor === "workers"
        ? new WorkerPool({ size: this.#plan.numThreads, name: "pipeline-workers" })
        : new ProcessPool({
          size: this.#plan.numThreads,
          name: "pipeline-processes",
          ...(this.#plan.processPermissions === undefined
            ? {}
            : { permissions: this.#plan.processPermissions }),
        });
      this.#owned.push(pool);
    }
    return pool;
  }

  #failed(running: Running, index: number, error: unknown): void {
    running.failures++;
    this.#errors.push(new StageError(running.step.name, index, error));
    if (running.failures > running.limit && this.#failure === undefined) {
      this.#failure = new PipelineFailure(this.#errors, running.step.name, running.limit);
      this.#controller.abort(this.#failure);
    }
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
    this.#closing = Promise.all(this.#owned.map((p) => p.close())).then(() => {});
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value instanceof Promise ||
    (value !== null && (typeof value === "object" || typeof value === "function") &&
      typeof (value as PromiseLike<unknown>).then === "function");
}
