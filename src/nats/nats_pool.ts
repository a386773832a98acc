/**
 * `NatsPool`: a pool whose workers run on other machines, through NATS
 * JetStream.
 *
 * @module
 */

import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import {
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
} from "@nats-io/jetstream";
import type { Hooked } from "../_internal/hooks.ts";
import { SPREAD } from "../_internal/hooks.ts";
import { checkOptions } from "../_internal/options.ts";
import type { StageStream } from "../stream/types.ts";
import { checkKernel, type Kernel } from "../exec/kernel.ts";
import { POOL_MAP_OPTIONS, RUN_OPTIONS } from "../exec/options.ts";
import { bindAbort, type PoolLike, poolStage, type Submission } from "../exec/pool_stage.ts";
import type { Pool, PoolMapOptions, PoolStats, RunOptions } from "../exec/pool_types.ts";
import { isTransfer, type Transfer } from "../exec/transfer.ts";
import { ensurePool, open } from "./_connection.ts";
import {
  type ControlMessage,
  decode,
  encode,
  fromWire,
  names,
  type PresenceMessage,
  type ResultMessage,
  type TaskMessage,
} from "./_protocol.ts";
import { NATS_POOL_OPTIONS, type NatsPoolOptions } from "./options.ts";

// A message should keep a worker busy about this long, once the kernel's
// time per item is known (a message costs ~1 ms of CPU end to end).
const MESSAGE_MS = 10;
// Items per message: while the kernel's time is unknown, and at most.
const FIRST_BATCH = 16;
const MAX_BATCH = 1024;
// Messages in flight per worker thread (at least MIN_WINDOW).
const WINDOW_PER_WORKER = 4;
const MIN_WINDOW = 8;
// A worker not heard from for this long no longer counts.
const PRESENCE_MS = 3000;
// Waits on the server while closing give up after this long.
const CLOSE_WAIT_MS = 2000;

/** One item, from submission to its result. */
interface Item {
  readonly seq: number;
  readonly kernel: Kernel;
  readonly key: string;
  readonly spread: boolean;
  readonly input: unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  settled: boolean;
  task: Task | undefined;
  release: (() => void) | undefined;
}

/** One message of items. */
interface Task {
  readonly id: number;
  readonly key: string;
  readonly items: Item[];
  /** Items not settled. */
  live: number;
  /** The message's sequence in the tasks stream, once stored. */
  streamSeq: number | undefined;
  withdrawn: boolean;
}

/**
 * A pool whose workers run on other machines: tasks go to a JetStream
 * work-queue stream, workers started with `serveNatsWorker` (or `cli.ts
 * worker`) pull them, run them on a local `WorkerPool`, store the results
 * in JetStream and only then acknowledge them. Every item comes out
 * exactly once: a task whose worker dies runs again, and duplicates are
 * dropped here by sequence number. The surface is `WorkerPool`'s.
 *
 * Inputs and results travel as JSON. A kernel's module URL must resolve on
 * every worker host (the same `file:` path, or an `https:` URL), under the
 * worker's `allowModules` roots.
 *
 * @example Squares on the workers of pool "demo"
 * ```ts ignore
 * import { kernel } from "@conveyor/core";
 * import { NatsPool } from "@conveyor/core/nats";
 *
 * const square = kernel<(x: number) => number>(new URL("./kernels.ts", import.meta.url), "square");
 * await using pool = await NatsPool.connect({ servers: "nats://10.0.0.1:4222", pool: "demo" });
 * const out = ReadableStream.from([1, 2, 3]).pipeThrough(pool.map(square));
 * console.log(await Array.fromAsync(out)); // [1, 4, 9]
 * ```
 */
export class NatsPool implements Pool {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #names: ReturnType<typeof names>;
  readonly #name: string;
  readonly #job = crypto.randomUUID().replaceAll("-", "");
  readonly #ackWaitMs: number;
  readonly #maxDeliver: number;
  readonly #taskTtlMs: number;
  readonly #pending = new Map<number, Item>();
  readonly #tasks = new Map<number, Task>();
  readonly #taskMs = new Map<string, number>();
  readonly #workers = new Map<
    string,
    { presence: PresenceMessage; seen: number; busyMs: number }
  >();
  readonly #workerIds = new Map<string, number>();
  readonly #presence: Subscription;
  readonly #port: PoolLike<Item>;
  #outbox: Item[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #nextSeq = 0;
  #nextTask = 0;
  #tasksDone = 0;
  #crashes = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #results: { stop(): void; done: Promise<void>; watched: Promise<void> } | undefined;
  readonly #publishing = new Set<Promise<void>>();

  /**
   * Connects to the servers and makes the pool's streams when missing.
   *
   * @param options `servers`, `pool` (its name, shared with its workers),
   *   auth (`user`/`pass` or `token`), `ackWaitMs`, `maxDeliver`, `taskTtlMs`.
   * @returns The pool, ready for tasks.
   * @throws {TypeError} When an option is wrong.
   */
  static async connect(options: NatsPoolOptions): Promise<NatsPool> {
    const o = checkOptions("NatsPool.connect", NATS_POOL_OPTIONS, options) as NatsPoolOptions;
    if (o === undefined || o.servers === undefined || o.pool === undefined) {
      throw new TypeError("NatsPool.connect: servers and pool are required");
    }
    const nc = await open(o, false);
    try {
      const jsm = await ensurePool(nc, o.pool, o.ackWaitMs);
      return new NatsPool(nc, jsm, o);
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  private constructor(nc: NatsConnection, jsm: JetStreamManager, o: NatsPoolOptions) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.#names = names(o.pool);
    this.#name = o.name ?? o.pool;
    this.#ackWaitMs = o.ackWaitMs ?? 30_000;
    this.#maxDeliver = o.maxDeliver ?? 5;
    this.#taskTtlMs = o.taskTtlMs ?? 60 * 60 * 1000;
    this.#port = {
      waitForRoom: () => (this.#closed ? Promise.reject(this.#closedError()) : undefined),
      submit: (k, input, how) => this.#submit(k, input, how),
      abort: (item, reason) => this.#abort(item, reason),
      wanted: (key) => this.#window() * this.#batch(key),
      workers: () => this.size,
    };
    this.#presence = nc.subscribe(this.#names.presence, {
      callback: (error, msg) => {
        if (error !== null) return;
        const presence = decode<PresenceMessage>(msg.data);
        const known = this.#workers.get(presence.id);
        if (!this.#workerIds.has(presence.id)) {
          this.#workerIds.set(presence.id, this.#workerIds.size);
        }
        this.#workers.set(presence.id, {
          presence,
          seen: performance.now(),
          busyMs: known?.busyMs ?? 0,
        });
      },
    });
    this.#results = this.#readResults();
  }

  /** The worker threads of the workers heard from lately (at least 1). */
  get size(): number {
    let size = 0;
    const now = performance.now();
    for (const w of this.#workers.values()) {
      if (now - w.seen < PRESENCE_MS) size += w.presence.size;
    }
    return Math.max(1, size);
  }

  /**
   * Runs `k` on `input` on a worker.
   *
   * @typeParam I The kernel's input type.
   * @typeParam O The kernel's return type.
   * @param k The kernel.
   * @param input Its input (sent as JSON).
   * @param options `signal` (withdraws the task); `transfer` and `retries`
   *   have no effect here (a task whose worker dies runs again up to
   *   `maxDeliver` times).
   * @returns The kernel's result.
   */
  async run<I, O>(
    k: Kernel<(input: I) => O>,
    input: I | Transfer<I>,
    options?: RunOptions,
  ): Promise<Awaited<O>> {
    const what = "NatsPool.run";
    checkKernel(what, k);
    const { signal } = checkOptions(what, RUN_OPTIONS, options);
    signal?.throwIfAborted();
    if (this.#closed) throw this.#closedError();
    const spread = (options as { [SPREAD]?: boolean } | undefined)?.[SPREAD] === true;
    const value = isTransfer(input) ? input.value : input;
    return await (this.#submit(k, value, { transfer: [], retries: 0, spread, signal }) as Promise<
      Awaited<O>
    >);
  }

  /**
   * A stage that runs `k` on every chunk on the workers. Without
   * `concurrency`, it keeps a window of messages in flight sized by the
   * kernel's measured time and the workers' threads; results leave in
   * input order unless `ordered: false`. Cancelling the stream withdraws
   * its queued tasks and stops the workers working on them.
   *
   * @typeParam I The kernel's input type.
   * @typeParam O The kernel's return type.
   * @param k The kernel.
   * @param options `MapOptions` (`transfer` and `retries` have no effect).
   * @returns A `TransformStream` from inputs to results.
   */
  map<I, O>(k: Kernel<(input: I) => O>, options?: PoolMapOptions<I>): StageStream<I, Awaited<O>> {
    const what = "Cannot create NATS pool map stage";
    checkKernel(what, k);
    const { transfer: _t, retries: _r, ...rest } = checkOptions(what, POOL_MAP_OPTIONS, options);
    const spread = (options as Hooked<{ [SPREAD]?: boolean }> | undefined)?.[SPREAD] === true;
    return poolStage<I, Awaited<O>, Item>(this.#port, k, {
      pick: undefined,
      retries: 0,
      spread,
      adaptive: rest.concurrency === undefined,
    }, {
      ...rest,
      concurrency: rest.concurrency ?? MIN_WINDOW * MAX_BATCH * 64,
      name: rest.name ?? k.exportName,
    });
  }

  /**
   * A snapshot: items waiting for results, items done, and the workers
   * heard from lately.
   *
   * @returns The pool's statistics.
   */
  stats(): PoolStats {
    const now = performance.now();
    return {
      name: this.#name,
      size: this.size,
      closed: this.#closed,
      queued: this.#pending.size,
      tasksDone: this.#tasksDone,
      crashes: this.#crashes,
      workers: [...this.#workers].filter(([, w]) => now - w.seen < PRESENCE_MS).map((
        [id, w],
      ) => ({
        id: this.#workerIds.get(id)!,
        tasksDone: w.presence.tasksDone,
        busyMs: w.busyMs,
        queueLength: w.presence.holding,
      })),
    };
  }

  /**
   * Withdraws this pool's queued tasks (workers stop working on them),
   * rejects what is still waiting, and closes the connection. Idempotent.
   *
   * @returns When the connection is closed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Closes the pool. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const error = this.#closedError();
    for (const item of this.#outbox.splice(0)) this.#settle(item, error, false);
    for (const item of [...this.#pending.values()]) this.#settle(item, error, false);
    const n = this.#names;
    const filter = (subject: string) => ({ filter: subject });
    const control: ControlMessage = { job: this.#job };
    await Promise.allSettled(this.#publishing);
    await Promise.allSettled([
      bounded(this.#jsm.streams.purge(n.tasks, filter(n.taskSubject(this.#job)))),
      bounded(this.#jsm.streams.purge(n.results, filter(n.resultSubject(this.#job)))),
    ]);
    try {
      this.#nc.publish(n.control, encode(control));
    } catch { /* closed already */ }
    this.#presence.unsubscribe();
    this.#results?.stop();
    await bounded(this.#nc.flush());
    await this.#results?.done;
    await this.#nc.close();
    await this.#results?.watched;
  }

  #closedError(): Error {
    return new Error(`NatsPool "${this.#name}" was closed`);
  }

  #window(): number {
    return Math.max(MIN_WINDOW, WINDOW_PER_WORKER * this.size);
  }

  // Items per message for a kernel, by its measured time per item.
  #batch(key: string): number {
    const ms = this.#taskMs.get(key);
    if (ms === undefined) return FIRST_BATCH;
    return Math.max(1, Math.min(MAX_BATCH, Math.ceil(MESSAGE_MS / Math.max(ms, 1e-3))));
  }

  #submit(k: Kernel, input: unknown, how: Submission<Item>): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const { signal, spread } = how;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const item: Item = {
        seq: this.#nextSeq++,
        kernel: k,
        key: `${k.module}#${k.exportName}`,
        spread,
        input,
        resolve,
        reject,
        settled: false,
        task: undefined,
        release: undefined,
      };
      item.release = bindAbort(item, how, (i, reason) => this.#abort(i, reason));
      this.#pending.set(item.seq, item);
      this.#outbox.push(item);
      if (this.#outbox.length >= this.#batch(item.key)) this.#flush();
      else this.#flushTimer ??= setTimeout(() => this.#flush(), 0);
    });
  }

  // Cuts the items submitted so far into messages, by kernel, and sends them.
  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const items = this.#outbox;
    this.#outbox = [];
    const byKernel = new Map<string, Item[]>();
    for (const item of items) {
      if (item.settled) continue;
      const key = `${item.key}|${item.spread}`;
      let list = byKernel.get(key);
      if (list === undefined) byKernel.set(key, list = []);
      list.push(item);
    }
    for (const list of byKernel.values()) {
      const size = this.#batch(list[0]!.key);
      for (let i = 0; i < list.length; i += size) {
        const task = this.#task(list.slice(i, i + size));
        const sending = this.#publish(task).finally(() => this.#publishing.delete(sending));
        this.#publishing.add(sending);
      }
    }
  }

  // A message of `items` (of one kernel), known from now on.
  #task(items: Item[]): Task {
    const task: Task = {
      id: this.#nextTask++,
      key: items[0]!.key,
      items,
      live: items.length,
      streamSeq: undefined,
      withdrawn: false,
    };
    for (const item of items) item.task = task;
    this.#tasks.set(task.id, task);
    return task;
  }

  // Stores a task in the tasks stream, again and again while the server is
  // away (the same message id: stored once).
  async #publish(task: Task): Promise<void> {
    const first = task.items[0]!;
    const message: TaskMessage = {
      job: this.#job,
      task: task.id,
      module: first.kernel.module,
      exportName: first.kernel.exportName,
      spread: first.spread,
      seqs: task.items.map((i) => i.seq),
      inputs: task.items.map((i) => i.input),
      deadline: Date.now() + this.#taskTtlMs,
      maxDeliver: this.#maxDeliver,
      ackWaitMs: this.#ackWaitMs,
    };
    const data = encode(message);
    // A message must fit the server's max_payload (1 MiB by default): a
    // larger one goes as two halves; one item too large fails alone.
    const limit = (this.#nc.info?.max_payload ?? 1024 * 1024) - 4096;
    if (data.length > limit) return await this.#split(task, data.length, limit);
    const subject = this.#names.taskSubject(this.#job);
    for (let attempt = 0; !this.#closed && !task.withdrawn; attempt++) {
      try {
        const ack = await this.#js.publish(subject, data, {
          msgID: `${this.#job}:${task.id}`,
          timeout: 5000,
        });
        task.streamSeq = ack.seq;
        if (task.withdrawn) this.#withdraw(task);
        return;
      } catch {
        if (this.#closed) return;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * 2 ** attempt)));
      }
    }
  }

  async #split(task: Task, size: number, limit: number): Promise<void> {
    this.#tasks.delete(task.id);
    const items = task.items.filter((item) => !item.settled);
    if (items.length === 0) return;
    if (items.length === 1) {
      const error = new RangeError(
        `NatsPool "${this.#name}": an input of ${size} bytes as JSON is more than the server takes in a message (${limit})`,
      );
      return this.#settle(items[0]!, error, false);
    }
    const half = Math.ceil(items.length / 2);
    await Promise.all(
      [items.slice(0, half), items.slice(half)].map((chunk) => this.#publish(this.#task(chunk))),
    );
  }

  // Reads this job's results as they are stored, from the start, through
  // server restarts.
  #readResults(): { stop(): void; done: Promise<void>; watched: Promise<void> } {
    let messages: { stop(): void } | undefined;
    let stopped = false;
    let next = 0; // the results stream's sequence to read from
    const done = (async () => {
      while (!stopped) {
        try {
          const consumer = await this.#js.consumers.get(this.#names.results, {
            // One subject as a string: filter_subject, which servers before 2.10 know.
            filter_subjects: this.#names.resultSubject(this.#job),
            ...(next === 0
              ? {}
              : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: next }),
          });
          const iterator = await consumer.consume({ expires: 5000 });
          messages = iterator;
          if (stopped) iterator.stop();
          for await (const m of iterator) {
            next = m.seq + 1;
            this.#onResult(decode<ResultMessage>(m.data));
          }
        } catch {
          if (stopped || this.#nc.isClosed()) return;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    })();
    // After a reconnect (a server restart) the consumer may wait for missed
    // heartbeats before it notices: start a new one at once instead.
    const watching = (async () => {
      for await (const status of this.#nc.status()) {
        if (status.type === "reconnect") messages?.stop();
      }
    })();
    return {
      stop: () => {
        stopped = true;
        messages?.stop();
      },
      done,
      // Ends with the connection.
      watched: watching,
    };
  }

  #onResult(result: ResultMessage): void {
    const task = this.#tasks.get(result.task);
    if (task !== undefined && result.seqs.length > 0) {
      const ms = result.busyMs / result.seqs.length;
      const before = this.#taskMs.get(task.key);
      this.#taskMs.set(task.key, before === undefined ? ms : before * 0.8 + ms * 0.2);
    }
    const worker = this.#workers.get(result.worker);
    if (worker !== undefined) worker.busyMs += result.busyMs;
    const failed = new Map(result.errors);
    for (let i = 0; i < result.seqs.length; i++) {
      const item = this.#pending.get(result.seqs[i]!);
      if (item === undefined || item.settled) continue; // a duplicate, or withdrawn
      this.#tasksDone++;
      const error = failed.get(i);
      if (error === undefined) {
        this.#settle(item, result.values[i], true);
      } else {
        if (error.name === "WorkerCrashError") this.#crashes++;
        this.#settle(item, fromWire(error), false);
      }
    }
  }

  #settle(item: Item, outcome: unknown, ok: boolean): void {
    if (item.settled) return;
    item.settled = true;
    item.release?.();
    this.#pending.delete(item.seq);
    const task = item.task;
    if (task !== undefined && --task.live === 0) this.#tasks.delete(task.id);
    if (ok) item.resolve(outcome);
    else item.reject(outcome);
  }

  // An item given up by its caller: when none of its message's items is
  // wanted any more, the message is withdrawn.
  #abort(item: Item, reason: unknown): void {
    if (item.settled) return;
    const task = item.task;
    this.#settle(item, reason, false);
    if (task === undefined) {
      const at = this.#outbox.indexOf(item);
      if (at !== -1) this.#outbox.splice(at, 1);
    } else if (task.live === 0 && !task.withdrawn) {
      task.withdrawn = true;
      if (task.streamSeq !== undefined) this.#withdraw(task);
    }
  }

  #withdraw(task: Task): void {
    const n = this.#names;
    this.#jsm.streams.deleteMessage(n.tasks, task.streamSeq!, false).catch(() => {});
    const control: ControlMessage = { job: this.#job, task: task.id };
    try {
      this.#nc.publish(n.control, encode(control));
    } catch { /* closed */ }
  }
}

// A wait on the server that gives up after CLOSE_WAIT_MS (it may be away).
async function bounded(promise: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise((resolve) => timer = setTimeout(resolve, CLOSE_WAIT_MS)),
  ]);
  clearTimeout(timer);
}
