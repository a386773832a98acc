/**
 * `WorkerPool`: kernels on a pool of module Web Workers.
 *
 * @module
 */

import { mapSettings } from "../stream/_concurrent.ts";
import * as check from "../stream/_validate.ts";
import type { MapOptions, StageStream } from "../stream/types.ts";
import { checkKernel, type Kernel, kernelName } from "./kernel.ts";
import { type PoolLike, PoolStage } from "./_pool_stage.ts";
import type { FromWorker, RunMessage, ToWorker } from "./_protocol.ts";
import { type Task, TaskQueue } from "./_task_queue.ts";
import { WorkerCrashError } from "./worker_crash_error.ts";

const HOST = new URL("./_worker_host.ts", import.meta.url);
// Shared cells per worker for withdrawing tasks that it holds but has not started.
const CANCEL_CELLS = 16;
// How long a batch should keep a worker busy, once the kernel's time is known.
const BATCH_MS = 2;
// How many batches per worker a `map()` stage keeps in flight by default.
const IN_FLIGHT_BATCHES = 4;

/** Options of `new WorkerPool()`. */
export interface WorkerPoolOptions {
  /**
   * How many workers.
   *
   * @default {navigator.hardwareConcurrency}
   */
  size?: number;
  /**
   * The pool's name, used for the workers' names and in errors.
   *
   * @default {"conveyor"}
   */
  name?: string;
  /**
   * How many tasks may wait for a worker; `run` waits for room beyond that.
   *
   * @default {1024 × size}
   */
  maxQueue?: number;
  /**
   * The most inputs sent to a worker in one message when the queue is long.
   *
   * @default {64}
   */
  maxBatch?: number;
}

/** Options of `pool.run()`. */
export interface RunOptions {
  /** Objects to transfer with the input instead of copying (detached here afterwards). */
  transfer?: Transferable[];
  /** Aborting it rejects the task with the reason: a queued task is dropped, a running one's worker is replaced. */
  signal?: AbortSignal;
  /**
   * How many times a task whose worker died is run again before it fails with `WorkerCrashError`.
   *
   * @default {0}
   */
  retries?: number;
}

/** Options of `pool.map()`: `MapOptions` plus what `run` takes per item. */
export interface PoolMapOptions<I> extends MapOptions {
  /** Picks what to transfer from each input, e.g. `(x) => [x.buffer]`. */
  transfer?: (input: I) => Transferable[];
  /**
   * As in `RunOptions`.
   *
   * @default {0}
   */
  retries?: number;
}

/** One worker's counters. */
export interface WorkerStats {
  /** The worker's number; a replacement gets a new one. */
  readonly id: number;
  /** Tasks this worker finished. */
  readonly tasksDone: number;
  /** Milliseconds this worker spent running tasks. */
  readonly busyMs: number;
  /** Tasks sent to this worker and not finished yet. */
  readonly queueLength: number;
}

/** A snapshot of a pool, as `stats()` returns it. */
export interface PoolStats {
  /** The pool's name. */
  readonly name: string;
  /** How many workers the pool keeps. */
  readonly size: number;
  /** Tasks waiting for a worker. */
  readonly queued: number;
  /** Tasks finished, by all workers, replaced ones included. */
  readonly tasksDone: number;
  /** Workers that died and were replaced. */
  readonly crashes: number;
  /** The live workers. */
  readonly workers: readonly WorkerStats[];
}

interface Slot {
  readonly id: number;
  readonly index: number;
  readonly worker: Worker;
  readonly current: Int32Array<ArrayBufferLike>;
  readonly held: Map<number, Task>;
  batches: number;
  tasksDone: number;
  busyMs: number;
  alive: boolean;
}

/**
 * A pool of module Web Workers that run kernels. Each worker imports a
 * kernel's module once. Tasks go to the least-loaded worker; when many wait,
 * several inputs travel in one message. A worker that dies is replaced, and
 * the task it was running fails with `WorkerCrashError` (or runs again, with
 * `retries`); its other tasks run elsewhere.
 *
 * @example Squares on two workers, as a stream
 * ```ts
 * import { kernel, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * await using pool = new WorkerPool({ size: 2 });
 * assert.equal(await pool.run(square, 7), 49);
 * const out = ReadableStream.from([1, 2, 3]).pipeThrough(pool.map(square));
 * assert.deepEqual(await Array.fromAsync(out), [1, 4, 9]);
 * ```
 */
export class WorkerPool implements AsyncDisposable {
  readonly #name: string;
  readonly #size: number;
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  readonly #slots: Slot[] = [];
  readonly #queue = new TaskQueue();
  /** What `map()` stages use of this pool. */
  readonly #port: PoolLike = {
    waitForRoom: (signal) => this.#waitForRoom(signal),
    submit: (k, input, transfer, retries, signal, group) =>
      this.#submit(k, input, transfer, retries, signal, group),
    abort: (task, reason) => this.#abort(task, reason),
    wanted: (key) => IN_FLIGHT_BATCHES * this.#size * this.#batchByTime(key),
  };
  readonly #taskMs = new Map<string, number>();
  #roomWaiters: (() => void)[] = [];
  #scheduled = false;
  #nextTask = 0;
  #nextWorker = 0;
  #tasksDone = 0;
  #crashes = 0;
  #closed = false;

  /**
   * Starts the workers.
   *
   * @param options `size`, `name`, `maxQueue`, `maxBatch`.
   * @throws {RangeError} When a number is out of range.
   * @throws {TypeError} When an option has the wrong type.
   */
  constructor(options?: WorkerPoolOptions) {
    const what = "WorkerPool";
    const o = check.optionsBag(what, options);
    this.#size = o.size === undefined
      ? navigator.hardwareConcurrency
      : check.positiveInteger(what, "size", o.size);
    if (o.name !== undefined && (typeof o.name !== "string" || o.name === "")) {
      throw new TypeError(
        `Cannot create WorkerPool: name must be a non-empty string, got ${check.show(o.name)}`,
      );
    }
    this.#name = o.name ?? "conveyor";
    this.#maxQueue = o.maxQueue === undefined
      ? 1024 * this.#size
      : check.positiveInteger(what, "maxQueue", o.maxQueue, true);
    this.#maxBatch = o.maxBatch === undefined
      ? 64
      : check.positiveInteger(what, "maxBatch", o.maxBatch);
    for (let i = 0; i < this.#size; i++) this.#slots.push(this.#spawn(i));
  }

  /** How many workers the pool keeps. */
  get size(): number {
    return this.#size;
  }

  /**
   * Runs `k` on `input` in a worker.
   *
   * @typeParam I The kernel's input type.
   * @typeParam O The kernel's return type.
   * @param k The kernel.
   * @param input Its input (structured-cloned, or transferred with `transfer`).
   * @param options `transfer`, `signal`, `retries`.
   * @returns The kernel's result.
   * @throws {WorkerCrashError} When the worker died while running the task.
   */
  async run<I, O>(k: Kernel<(input: I) => O>, input: I, options?: RunOptions): Promise<Awaited<O>> {
    checkKernel("WorkerPool.run", k);
    const o = check.optionsBag("WorkerPool.run", options);
    const signal = check.abortSignal("WorkerPool.run", o.signal);
    const retries = o.retries === undefined
      ? 0
      : check.count("WorkerPool.run", "retries", o.retries);
    const transfer = o.transfer ?? [];
    if (!Array.isArray(transfer)) {
      throw new TypeError(`Cannot run: transfer must be an array, got ${check.show(transfer)}`);
    }
    signal?.throwIfAborted();
    const room = this.#waitForRoom(signal);
    if (room !== undefined) await room;
    return await (this.#submit(k, input, transfer, retries, signal) as Promise<Awaited<O>>);
  }

  /**
   * A stage that runs `k` on every chunk in the pool, in input order unless
   * `ordered: false`. Without `concurrency`, the stage keeps about four
   * batches per worker in flight, sized by the kernel's measured time: a
   * few items per worker for a slow kernel, up to `4 × maxBatch` per worker
   * for a tiny one. Set `concurrency` to bound memory for big items.
   * Cancelling the stream drops its queued tasks and replaces the workers
   * running its tasks.
   *
   * @typeParam I The kernel's input type.
   * @typeParam O The kernel's return type.
   * @param k The kernel.
   * @param options `MapOptions`, plus `transfer` and `retries`.
   * @returns A `TransformStream` from inputs to results.
   * @throws {TypeError} When `k` is not a kernel or an option has the wrong type.
   * @throws {RangeError} When a number is out of range.
   */
  map<I, O>(k: Kernel<(input: I) => O>, options?: PoolMapOptions<I>): StageStream<I, Awaited<O>> {
    checkKernel("Cannot create pool map stage", k);
    const what = "pool map stage";
    const o = check.optionsBag(what, options);
    const pick = o.transfer === undefined
      ? undefined
      : check.callable(what, "transfer", o.transfer);
    const retries = o.retries === undefined ? 0 : check.count(what, "retries", o.retries);
    const adaptive = o.concurrency === undefined;
    const settings = mapSettings(o.name ?? k.exportName, {
      ...o,
      concurrency: o.concurrency ?? IN_FLIGHT_BATCHES * this.#size * this.#maxBatch,
      name: o.name ?? k.exportName,
    });
    return new PoolStage<I, Awaited<O>>(this.#port, k, pick, retries, settings, adaptive);
  }

  /** A snapshot of the pool's counters. */
  stats(): PoolStats {
    return {
      name: this.#name,
      size: this.#size,
      queued: this.#queue.size,
      tasksDone: this.#tasksDone,
      crashes: this.#crashes,
      workers: this.#slots.map((s) => ({
        id: s.id,
        tasksDone: s.tasksDone,
        busyMs: s.busyMs,
        queueLength: s.held.size,
      })),
    };
  }

  /**
   * Stops every worker. Tasks not finished reject; later calls resolve at once.
   *
   * @returns When the workers are gone.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const error = this.#closedError();
    for (const slot of this.#slots) {
      slot.alive = false;
      slot.worker.terminate();
      for (const task of slot.held.values()) this.#settle(task, error, false);
      slot.held.clear();
    }
    for (const task of this.#queue.drain()) this.#settle(task, error, false);
    for (const wake of this.#roomWaiters.splice(0)) wake();
    return Promise.resolve();
  }

  /** Closes the pool. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Resolves once the queue has room (at once, usually). */
  #waitForRoom(signal: AbortSignal | undefined): Promise<void> | undefined {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#queue.size < this.#maxQueue) return undefined;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = this.#roomWaiters.indexOf(wake);
        if (at !== -1) this.#roomWaiters.splice(at, 1);
        reject(signal!.reason);
      };
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#roomWaiters.push(wake);
    }).then(() => this.#waitForRoom(signal));
  }

  /**
   * Queues a task (the caller checked its arguments and made room). `signal`
   * aborts this task; `group` collects tasks that a stream aborts together.
   */
  #submit(
    k: Kernel,
    input: unknown,
    transfer: readonly Transferable[],
    retries: number,
    signal?: AbortSignal,
    group?: Set<Task>,
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const task: Task = {
        id: this.#nextTask++,
        kernel: k,
        input,
        transfer,
        retries,
        holder: undefined,
        settled: false,
        resolve,
        reject,
        release: undefined,
      };
      if (signal !== undefined) {
        const onAbort = () => this.#abort(task, signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        task.release = () => signal.removeEventListener("abort", onAbort);
      } else if (group !== undefined) {
        group.add(task);
        task.release = () => group.delete(task);
      }
      this.#queue.push(task);
      this.#schedule();
    });
  }

  /** Rejects a task with `reason`: a queued one is dropped, a running one's worker replaced. */
  #abort(task: Task, reason: unknown): void {
    if (task.settled) return;
    const slot = task.holder as Slot | undefined;
    this.#settle(task, reason, false);
    if (slot === undefined) {
      this.#queue.remove(task);
      this.#schedule();
    } else {
      const withdrawn = this.#withdraw(slot, task);
      slot.held.delete(task.id);
      // Running: the only way to stop it is to replace its worker.
      if (!withdrawn) this.#crashed(slot, reason, -1);
    }
  }

  #closedError(): Error {
    return new Error(`WorkerPool "${this.#name}" was closed`);
  }

  #spawn(index: number): Slot {
    const id = this.#nextWorker++;
    const worker = new Worker(HOST, { type: "module", name: `${this.#name}-${id}` });
    const current = new Int32Array(new SharedArrayBuffer(4 * (1 + CANCEL_CELLS))).fill(-1);
    const slot: Slot = {
      id,
      index,
      worker,
      current,
      held: new Map(),
      batches: 0,
      tasksDone: 0,
      busyMs: 0,
      alive: true,
    };
    worker.onmessage = (event: MessageEvent<FromWorker>) => this.#message(slot, event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#crashed(slot, event.error ?? new Error(event.message), Atomics.load(current, 0));
    };
    worker.onmessageerror = () => {
      this.#crashed(slot, new Error("a message from the worker could not be read"), -1);
    };
    worker.postMessage({ type: "init", slot: current } satisfies ToWorker);
    return slot;
  }

  #message(slot: Slot, message: FromWorker): void {
    if (!slot.alive) return;
    if (message.type === "crash") {
      return this.#crashed(slot, message.cause, message.taskId);
    }
    slot.batches--;
    slot.busyMs += message.busy;
    const failed = message.errors.length > 0 ? new Map(message.errors) : undefined;
    let kernel: Kernel | undefined;
    for (let i = 0; i < message.ids.length; i++) {
      const task = slot.held.get(message.ids[i]!);
      if (task === undefined) {
        this.#forget(slot, message.ids[i]!);
        continue;
      }
      kernel = task.kernel;
      slot.held.delete(task.id);
      slot.tasksDone++;
      this.#tasksDone++;
      if (failed?.has(i)) this.#settle(task, failed.get(i), false);
      else this.#settle(task, message.values[i], true);
    }
    if (kernel !== undefined) {
      // A running average of the kernel's time per item sizes its batches.
      const key = kernel.module + "#" + kernel.exportName;
      const ms = message.busy / message.ids.length;
      const before = this.#taskMs.get(key);
      this.#taskMs.set(key, before === undefined ? ms : before * 0.8 + ms * 0.2);
    }
    this.#schedule();
  }

  // Dispatch runs once per turn of the microtask queue, so that tasks queued
  // together (a burst from a stream) travel together.
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#queue.size > 0 && !this.#closed) {
      let slot: Slot | undefined;
      for (const s of this.#slots) {
        if (s.batches < 2 && (slot === undefined || s.held.size < slot.held.size)) slot = s;
      }
      if (slot === undefined) break;
      const first = this.#queue.peek()!;
      const batch: Task[] = [];
      const limit = this.#batchLimit(first.kernel);
      while (batch.length < limit) {
        const task = this.#queue.peek();
        if (
          task === undefined || task.kernel.module !== first.kernel.module ||
          task.kernel.exportName !== first.kernel.exportName
        ) break;
        batch.push(this.#queue.shift()!);
      }
      this.#send(slot, batch);
    }
    while (this.#roomWaiters.length > 0 && this.#queue.size < this.#maxQueue) {
      this.#roomWaiters.shift()!();
    }
  }

  // Enough items to keep a worker busy for about BATCH_MS, spread over the
  // workers, and one at a time for a kernel not yet timed.
  #batchLimit(k: Kernel): number {
    const share = Math.ceil(this.#queue.size / this.#size);
    return Math.max(1, Math.min(this.#batchByTime(k.module + "#" + k.exportName), share));
  }

  // How many items of a kernel keep a worker busy for about BATCH_MS (one
  // while its time is unknown), at most maxBatch.
  #batchByTime(key: string): number {
    const ms = this.#taskMs.get(key);
    if (ms === undefined) return 1;
    return Math.min(this.#maxBatch, Math.ceil(BATCH_MS / Math.max(ms, 1e-3)));
  }

  #send(slot: Slot, batch: Task[]): void {
    const message: RunMessage = {
      type: "run",
      module: batch[0]!.kernel.module,
      exportName: batch[0]!.kernel.exportName,
      ids: batch.map((t) => t.id),
      inputs: batch.map((t) => t.input),
    };
    const transfer = batch.length === 1 ? batch[0]!.transfer : batch.flatMap((t) => t.transfer);
    try {
      slot.worker.postMessage(message, transfer as Transferable[]);
    } catch (error) {
      // An input that cannot be cloned fails its own task; the rest go again.
      const again: Task[] = [];
      for (const task of batch) {
        try {
          structuredClone(task.input);
          again.push(task);
        } catch {
          this.#settle(task, error, false);
        }
      }
      if (again.length === batch.length) {
        for (const task of batch) this.#settle(task, error, false);
      } else {
        this.#requeue(again);
      }
      return;
    }
    slot.batches++;
    for (const task of batch) {
      task.holder = slot;
      slot.held.set(task.id, task);
    }
  }

  #crashed(slot: Slot, cause: unknown, culprit: number): void {
    if (!slot.alive) return;
    slot.alive = false;
    slot.worker.terminate();
    this.#crashes++;
    if (!this.#closed) this.#slots[slot.index] = this.#spawn(slot.index);
    const again: Task[] = [];
    for (const task of slot.held.values()) {
      task.holder = undefined;
      if (task.id !== culprit) {
        again.push(task);
      } else if (task.retries > 0) {
        task.retries--;
        again.push(task);
      } else {
        this.#settle(task, new WorkerCrashError(kernelName(task.kernel), slot.id, cause), false);
      }
    }
    slot.held.clear();
    this.#requeue(again);
  }

  // Withdraws a task the worker holds but has not started (or has finished):
  // false when it is running, or may be.
  #withdraw(slot: Slot, task: Task): boolean {
    const running = Atomics.load(slot.current, 0);
    if (running === task.id) return false;
    // The worker runs what it holds in the order it was sent: a task sent
    // before the running one has finished, and its result is ignored.
    for (const held of slot.held.values()) {
      if (held === task) break;
      if (held.id === running) return true;
    }
    for (let i = 1; i <= CANCEL_CELLS; i++) {
      if (Atomics.compareExchange(slot.current, i, -1, task.id) === -1) {
        return Atomics.load(slot.current, 0) !== task.id;
      }
    }
    return false;
  }

  // Frees the cancel cell of a withdrawn task the worker finished anyway.
  #forget(slot: Slot, id: number): void {
    for (let i = 1; i <= CANCEL_CELLS; i++) Atomics.compareExchange(slot.current, i, id, -1);
  }

  #settle(task: Task, outcome: unknown, ok: boolean): void {
    if (task.settled) return;
    task.settled = true;
    task.release?.();
    if (ok) task.resolve(outcome);
    else task.reject(outcome);
  }

  #requeue(tasks: Task[]): void {
    if (tasks.length === 0) return;
    if (this.#closed) {
      const error = this.#closedError();
      for (const task of tasks) this.#settle(task, error, false);
      return;
    }
    this.#queue.unshift(tasks);
    this.#schedule();
  }
}
