// The scheduling behind WorkerPool and ProcessPool: a bounded FIFO of tasks,
// least-loaded dispatch in batches sized by each kernel's measured time,
// aborts, and the replacement of workers that die. What a worker is (a Web
// Worker, a child process) is behind a Link.

import { setImmediate } from "node:timers";
import { type Hooked, SPREAD } from "../_internal/hooks.ts";
import { checkOptions } from "../_internal/options.ts";
import { turnAwaited } from "../_internal/turns.ts";
import type { StageStream } from "../stream/types.ts";
import { checkKernel, type Kernel, kernelName } from "./kernel.ts";
import { isTransfer, type Transfer } from "./transfer.ts";
import type { Link, LinkFactory } from "./_link.ts";
import { bindAbort, type PoolLike, poolStage, type Submission } from "./pool_stage.ts";
import type { DoneMessage, RunMessage } from "./_protocol.ts";
import { type Task, TaskQueue } from "./_task_queue.ts";
import type { PoolMapOptions, PoolOptions, PoolStats, RunOptions } from "./pool_types.ts";
import { MAX_POOL_SIZE, POOL_MAP_OPTIONS, RUN_OPTIONS } from "./options.ts";
import { WorkerCrashError } from "./worker_crash_error.ts";

// How long a batch should keep a worker busy, once the kernel's time is known.
const BATCH_MS = 2;
// How many batches per worker a `map()` stage keeps in flight by default.
const IN_FLIGHT_BATCHES = 4;
// How many batches a worker holds at once: one running, the next waiting.
const WORKER_BATCHES = 2;
// About how long a batch takes to reach a worker and its results to come
// back, besides running: a batch shorter than that gains nothing from
// waiting in a busy worker, which is idle again before it would arrive.
const ROUND_TRIP_MS = 0.1;
// The share of their time the workers spend running batches below which
// they are not what holds a stream back (its input is): then a capped
// stage's share for a worker goes in one batch, not two (see #batchLimit).
const BUSY_TO_SPLIT = 0.75;

interface Slot {
  readonly id: number;
  readonly index: number;
  link: Link;
  /** The kernel modules it can run (all, for a factory that does not preload). */
  readonly modules: ReadonlySet<string> | undefined;
  readonly held: Map<number, Task>;
  batches: number;
  tasksDone: number;
  busyMs: number;
  alive: boolean;
  /** When its running batch started, as seen here (a done message, or a send to an idle worker). */
  since: number;
}

/** A pool's engine; the public classes forward to it. */
export class PoolCore {
  readonly #factory: LinkFactory;
  readonly #name: string;
  readonly #size: number;
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  readonly #slots: (Slot | undefined)[];
  readonly #queue = new TaskQueue();
  readonly #taskMs = new Map<string, number>();
  /** Kernel modules seen, for factories whose workers preload them. */
  readonly #modules = new Set<string>();
  /** Of those, the ones a worker has loaded. */
  readonly #loaded = new Set<string>();
  /** Modules no worker could load, and why. */
  readonly #broken = new Map<string, unknown>();
  /** Links stopping, awaited by close(). */
  readonly #dying = new Set<Promise<void>>();
  /** `#abort`, as the callback that aborts a task. */
  readonly #abortTask = (task: Task, reason: unknown): void => this.#abort(task, reason);
  #roomWaiters: (() => void)[] = [];
  #scheduled = false;
  /** A dispatch at the end of this turn of the event loop is due. */
  #flushing = false;
  #nextTask = 0;
  /**
   * A running average of the share of their time the workers spend running
   * batches, as they report it (each batch's time against the time the
   * worker waited for it); 1 until measured.
   */
  #busyShare = 1;
  /** Tasks submitted and not settled: queued, or held by a worker. */
  #open = 0;
  #nextWorker = 0;
  #tasksDone = 0;
  #crashes = 0;
  #closed = false;
  #spawnError: Error | undefined;
  readonly #idleMs: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** `o`: the pool's options, checked by the public class. */
  constructor(factory: LinkFactory, o: Partial<PoolOptions>) {
    this.#factory = factory;
    this.#size = o.size ?? Math.min(navigator.hardwareConcurrency, MAX_POOL_SIZE);
    this.#name = o.name ?? "conveyor";
    this.#maxQueue = o.maxQueue ?? 1024 * this.#size;
    this.#maxBatch = o.maxBatch ?? 64;
    this.#idleMs = o.idleTimeout ?? 5000;
    this.#slots = new Array(this.#size).fill(undefined);
    if (factory.eager) { for (let i = 0; i < this.#size; i++) this.#spawn(i); }
    this.#watchIdle();
  }

  get name(): string {
    return this.#name;
  }

  get size(): number {
    return this.#size;
  }

  async run<I, O>(
    k: Kernel<(input: I) => O>,
    input: I | Transfer<I>,
    options?: RunOptions,
  ): Promise<Awaited<O>> {
    const what = `${this.#factory.kind}.run`;
    checkKernel(what, k);
    const o = checkOptions(what, RUN_OPTIONS, options);
    const { signal, retries = 0 } = o;
    let transfer: readonly Transferable[] = o.transfer ?? [];
    signal?.throwIfAborted();
    let value: unknown = input;
    if (isTransfer(input)) {
      value = input.value;
      transfer = [...transfer, ...input.list];
    }
    const room = this.#waitForRoom(signal);
    if (room !== undefined) await room;
    const spread = (options as { [SPREAD]?: boolean } | undefined)?.[SPREAD] === true;
    const how = { transfer, retries, spread, signal };
    return await (this.#submit(k, value, how) as Promise<Awaited<O>>);
  }

  map<I, O>(
    k: Kernel<(input: I) => O>,
    options?: Hooked<PoolMapOptions<I>>,
  ): StageStream<I, Awaited<O>> {
    const spread = (options as { [SPREAD]?: boolean } | undefined)?.[SPREAD] === true;
    const what = "Cannot create pool map stage";
    checkKernel(what, k);
    const { transfer, retries, ...rest } = checkOptions(what, POOL_MAP_OPTIONS, options);
    const call = {
      pick: transfer as ((input: I) => Transferable[]) | undefined,
      retries: retries ?? 0,
      spread,
      adaptive: rest.concurrency === undefined,
    };
    // The most tasks the stage keeps in the pool; the pool decides (no
    // bound of the stage's own) unless it was given a number.
    const cap = typeof rest.concurrency === "number" ? rest.concurrency : Infinity;
    const port: PoolLike = {
      waitForRoom: (signal) => this.#waitForRoom(signal),
      submit: (k, input, how) => this.#submit(k, input, how, cap),
      abort: this.#abortTask,
      wanted: (key) => IN_FLIGHT_BATCHES * this.#size * this.#batchByTime(key),
      workers: () => this.#size,
    };
    return poolStage(port, k, call, {
      ...rest,
      concurrency: rest.concurrency ?? IN_FLIGHT_BATCHES * this.#size * this.#maxBatch,
      name: rest.name ?? k.exportName,
    });
  }

  stats(): PoolStats {
    const slots = this.#slots.filter((s): s is Slot => s !== undefined);
    return {
      name: this.#name,
      size: this.#size,
      closed: this.#closed,
      queued: this.#queue.size,
      tasksDone: this.#tasksDone,
      crashes: this.#crashes,
      workers: slots.map((s) => ({
        id: s.id,
        tasksDone: s.tasksDone,
        busyMs: s.busyMs,
        queueLength: s.held.size,
        ...(s.link.pid === undefined ? {} : { pid: s.link.pid }),
      })),
    };
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      const error = this.#closedError();
      for (const slot of this.#slots) {
        if (slot === undefined) continue;
        for (const task of slot.held.values()) this.#settle(task, error, false);
        slot.held.clear();
        this.#stop(slot);
      }
      for (const task of this.#queue.drain()) this.#settle(task, error, false);
      for (const wake of this.#roomWaiters.splice(0)) wake();
    }
    while (this.#dying.size > 0) await Promise.all(this.#dying);
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
   * aborts this task; `group` collects tasks that a stream aborts together;
   * `cap`: the most tasks its stage keeps in the pool (0: a lone call).
   */
  #submit(k: Kernel, input: unknown, how: Submission, cap = 0): Promise<unknown> {
    const { transfer, retries, spread, signal } = how;
    if (this.#closed) return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const task: Task = {
        id: this.#nextTask++,
        kernel: k,
        input,
        transfer,
        spread,
        cap,
        retries,
        holder: undefined,
        settled: false,
        resolve,
        reject,
        release: undefined,
      };
      task.release = bindAbort(task, how, this.#abortTask);
      this.#open++;
      this.#queue.push(task);
      this.#schedule();
    });
  }

  /**
   * Rejects a task with `reason`: a queued one is dropped, a running one's
   * worker replaced (not a crash: the pool stopped it).
   */
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
      if (!withdrawn) this.#replace(slot, reason, -1);
      else this.#schedule();
    }
  }

  #closedError(): Error {
    return new Error(`${this.#factory.kind} "${this.#name}" was closed`);
  }

  #spawn(index: number): Slot {
    this.#spawnError = undefined;
    const id = this.#nextWorker++;
    const modules = this.#factory.preloads ? new Set(this.#modules) : undefined;
    const slot: Slot = {
      id,
      index,
      link: undefined as unknown as Link, // set below: it reports through the slot
      modules,
      held: new Map(),
      batches: 0,
      tasksDone: 0,
      busyMs: 0,
      alive: true,
      since: 0,
    };
    slot.link = this.#factory.spawn(this.#name, id, [...(modules ?? [])], {
      done: (message) => this.#done(slot, message),
      crash: (cause, culprit, starting) => {
        if (!slot.alive) return;
        this.#crashes++;
        if (starting && this.#unloadable(slot, cause, culprit)) return;
        this.#replace(slot, cause, culprit);
      },
    });
    this.#slots[index] = slot;
    return slot;
  }

  // Starts a worker where one is missing or died; when that fails (no
  // permission to run a process, say), the slot stays empty and the tasks
  // waiting fail with the reason once no worker is left to run them.
  #trySpawn(index: number): Slot | undefined {
    try {
      return this.#spawn(index);
    } catch (cause) {
      this.#slots[index] = undefined;
      const why = cause instanceof Error ? cause.message : String(cause);
      this.#spawnError = new Error(`Cannot start a ${this.#factory.kind} worker: ${why}`, {
        cause,
      });
      return undefined;
    }
  }

  /** Stops a slot's worker; close() waits for it to be gone. */
  #stop(slot: Slot): void {
    slot.alive = false;
    const gone = slot.link.kill().finally(() => this.#dying.delete(gone));
    this.#dying.add(gone);
  }

  #done(slot: Slot, message: DoneMessage): void {
    if (!slot.alive) return;
    if (slot.modules !== undefined) { for (const m of slot.modules) this.#loaded.add(m); }
    slot.batches--;
    slot.since = performance.now();
    const spent = message.busy + message.idle;
    if (spent > 0) this.#busyShare = this.#busyShare * 0.9 + 0.1 * message.busy / spent;
    slot.busyMs += message.busy;
    const { ids } = message;
    const tasks: (Task | undefined)[] = new Array(ids.length);
    let kernel: Kernel | undefined;
    for (let i = 0; i < ids.length; i++) {
      const task = slot.held.get(ids[i]!);
      if (task === undefined) {
        slot.link.forget(ids[i]!);
        continue;
      }
      tasks[i] = task;
      kernel = task.kernel;
      slot.held.delete(task.id);
    }
    if (kernel !== undefined) {
      this.#loaded.add(kernel.module);
      // A running average of the kernel's time per item sizes its batches
      // (loading its module is not part of it).
      const key = kernel.module + "#" + kernel.exportName;
      const ms = (message.busy - message.load) / ids.length;
      const before = this.#taskMs.get(key);
      this.#taskMs.set(key, before === undefined ? ms : before * 0.8 + ms * 0.2);
    }
    // The worker has room again: what waits goes now, while it may still
    // be busy with its next batch (a message to a busy worker is cheap, one
    // to an idle worker wakes it), before the results here make work.
    this.#dispatch();
    const failed = message.errors.length > 0 ? new Map(message.errors) : undefined;
    for (let i = 0; i < ids.length; i++) {
      const task = tasks[i];
      if (task === undefined) continue;
      slot.tasksDone++;
      this.#tasksDone++;
      if (failed?.has(i)) this.#settle(task, failed.get(i), false);
      else this.#settle(task, message.values[i], true);
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

  // Dispatches again once this turn of the event loop is over. A stream
  // that paused for the turn (see turns.ts) goes on first: the rest of its
  // burst joins the fragment.
  #flushSoon(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    const flush = (again: boolean) => {
      if (again && turnAwaited()) return void setImmediate(() => flush(false));
      this.#flushing = false;
      this.#dispatch(true);
    };
    setImmediate(() => flush(true));
  }

  // `ended`: this turn of the event loop is over, so no task joins the
  // queue's fragment of a batch before the next (see below).
  #dispatch(ended = false): void {
    while (this.#queue.size > 0 && !this.#closed) {
      const first = this.#queue.peek()!;
      const module = first.kernel.module;
      if (this.#broken.has(module)) {
        this.#queue.shift();
        this.#settle(first, this.#loadError(first.kernel, this.#broken.get(module)), false);
        continue;
      }
      if (this.#factory.preloads) this.#modules.add(module);
      const slot = this.#pick(module);
      if (slot === undefined) {
        if (this.#spawnError !== undefined && this.#slots.every((s) => s === undefined)) {
          for (const task of this.#queue.drain()) this.#settle(task, this.#spawnError, false);
        }
        break;
      }
      const limit = this.#batchLimit(first);
      // A fragment of a batch waits: a stream submits its items one by one,
      // and the rest of a burst comes later in the same turn. A busy worker
      // takes only a whole batch (it asks again when done); an idle one
      // takes what gathered by the end of the turn.
      if (this.#fragment(first, limit)) {
        if (slot.batches > 0) break;
        if (!ended) {
          this.#flushSoon();
          break;
        }
      }
      const batch: Task[] = [];
      while (batch.length < limit) {
        const task = this.#queue.peek();
        if (task === undefined || !sameCall(task, first)) break;
        batch.push(this.#queue.shift()!);
      }
      this.#send(slot, batch);
    }
    while (this.#roomWaiters.length > 0 && this.#queue.size < this.#maxQueue) {
      this.#roomWaiters.shift()!();
    }
    this.#watchIdle();
  }

  // While the pool has workers and nothing to do, a timer (which does not
  // keep the program alive by itself) stops them after idleTimeout; any work
  // disarms it, and workers start again on demand.
  #watchIdle(): void {
    const busy = this.#queue.size > 0 ||
      this.#slots.some((s) => s !== undefined && s.held.size > 0);
    const running = this.#slots.some((s) => s !== undefined);
    if (busy || !running || this.#closed || this.#idleMs === Infinity) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      return;
    }
    if (this.#idleTimer !== undefined) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#closed || this.#queue.size > 0) return;
      for (const [i, slot] of this.#slots.entries()) {
        if (slot === undefined || slot.held.size > 0) continue;
        this.#stop(slot);
        this.#slots[i] = undefined;
      }
    }, this.#idleMs);
    Deno.unrefTimer(this.#idleTimer as unknown as number);
  }

  // The least-loaded worker that can take a batch of `module`'s kernel.
  // Workers are started here when missing; a worker that cannot load the
  // module (it preloads others) is replaced once it holds nothing.
  #pick(module: string): Slot | undefined {
    let best: Slot | undefined;
    for (let i = 0; i < this.#size; i++) {
      let s = this.#slots[i];
      if (s !== undefined && s.modules !== undefined && !s.modules.has(module)) {
        if (s.held.size > 0) continue;
        this.#stop(s);
        s = undefined;
      }
      s ??= this.#trySpawn(i);
      if (s === undefined) continue;
      if (s.batches >= WORKER_BATCHES) continue;
      if (
        best === undefined || s.held.size < best.held.size ||
        (s.held.size === best.held.size &&
          (s.batches < best.batches || (s.batches === best.batches && s.since < best.since)))
      ) best = s;
    }
    return best;
  }

  // Enough items to keep a worker busy for about BATCH_MS, and one at a
  // time for a kernel not yet timed; at most each worker's share of the
  // tasks that may be in the pool: as many as the first task's stage keeps
  // there (not the few it holds at a given moment: that number falls and
  // rises as results wait for their turn and new items come in), or for
  // lone calls, those the pool holds. A share goes in two batches when
  // each keeps the worker busy longer than a round trip (the worker runs
  // one while the other travels), else in one: fewer messages, and each
  // message to an idle worker has to wake it. It goes in one, too, while
  // the workers sit idle most of the time: then what holds the stream back
  // is its input, or the event loop that feeds them, which the second
  // message would only cost more.
  #batchLimit(first: Task): number {
    const key = first.kernel.module + "#" + first.kernel.exportName;
    const byTime = this.#batchByTime(key);
    const share = Math.ceil((first.cap > 0 ? first.cap : this.#open) / this.#size);
    if (share >= byTime) return byTime;
    if (this.#busyShare < BUSY_TO_SPLIT) return Math.max(1, share);
    const half = Math.ceil(share / WORKER_BATCHES);
    return half * (this.#taskMs.get(key) ?? 0) >= ROUND_TRIP_MS ? half : Math.max(1, share);
  }

  // Whether the queue's run of tasks like `first` is shorter than `limit`
  // (a run that another kernel's task ends is whole).
  #fragment(first: Task, limit: number): boolean {
    if (this.#queue.size >= limit) return false;
    return this.#queue.every((task) => sameCall(task, first));
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
      spread: batch[0]!.spread,
    };
    const transfer = batch.length === 1 ? batch[0]!.transfer : batch.flatMap((t) => t.transfer);
    try {
      slot.link.send(message, transfer);
    } catch (error) {
      // An input that cannot be sent fails its own task; the rest go again.
      const again: Task[] = [];
      for (const task of batch) {
        try {
          slot.link.check(task.input);
          again.push(task);
        } catch (own) {
          this.#settle(task, own, false);
        }
      }
      if (again.length === batch.length) {
        for (const task of batch) this.#settle(task, error, false);
      } else {
        this.#requeue(again);
      }
      return;
    }
    if (slot.batches === 0) slot.since = performance.now();
    slot.batches++;
    for (const task of batch) {
      task.holder = slot;
      slot.held.set(task.id, task);
    }
  }

  // A worker died while loading kernel modules (those it preloads, or else
  // the module of task `culprit`'s kernel): the ones no worker has loaded yet
  // are taken to be the reason. Their tasks fail with an error naming the
  // module and the export, and the worker is replaced without them. False
  // when every module had loaded elsewhere (a plain crash).
  #unloadable(slot: Slot, cause: unknown, culprit: number): boolean {
    const loading = slot.modules ?? [slot.held.get(culprit)?.kernel.module];
    const suspects = [...loading].filter((m): m is string =>
      m !== undefined && !this.#loaded.has(m)
    );
    if (suspects.length === 0) return false;
    for (const m of suspects) {
      this.#modules.delete(m);
      this.#broken.set(m, cause);
    }
    this.#stop(slot);
    if (!this.#closed) this.#trySpawn(slot.index);
    const again: Task[] = [];
    for (const task of slot.held.values()) {
      task.holder = undefined;
      if (this.#broken.has(task.kernel.module)) {
        this.#settle(task, this.#loadError(task.kernel, cause), false);
      } else {
        again.push(task);
      }
    }
    slot.held.clear();
    this.#requeue(again);
    this.#schedule();
    return true;
  }

  #loadError(k: Kernel, cause: unknown): TypeError {
    const why = cause instanceof Error ? cause.message : String(cause);
    return new TypeError(
      `Cannot load kernel "${k.exportName}": a ${this.#factory.kind} worker could not load module ${k.module}: ${why}`,
      { cause },
    );
  }

  // Replaces a worker that died or was stopped: task `culprit` fails (or
  // runs again, with retries left), its other tasks run elsewhere.
  #replace(slot: Slot, cause: unknown, culprit: number): void {
    if (!slot.alive) return;
    this.#stop(slot);
    if (!this.#closed) this.#trySpawn(slot.index);
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
    const running = slot.link.running();
    if (running === task.id) return false;
    // The worker runs what it holds in the order it was sent: a task sent
    // before the running one has finished, and its result is ignored.
    for (const held of slot.held.values()) {
      if (held === task) break;
      if (held.id === running) return true;
    }
    return slot.link.withdraw(task.id);
  }

  #settle(task: Task, outcome: unknown, ok: boolean): void {
    if (task.settled) return;
    task.settled = true;
    this.#open--;
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

// Whether two tasks can travel in one batch.
function sameCall(a: Task, b: Task): boolean {
  return a.kernel.module === b.kernel.module && a.kernel.exportName === b.kernel.exportName &&
    a.spread === b.spread;
}
