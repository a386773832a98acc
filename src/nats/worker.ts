/**
 * `serveNatsWorker`: a worker of a NATS pool, on any machine that reaches
 * the servers.
 *
 * @module
 */

import { hostname } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Consumer, jetstream, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import { checkOptions } from "../_internal/options.ts";
import { kernel } from "../exec/kernel.ts";
import { MAX_POOL_SIZE } from "../exec/options.ts";
import { WorkerPool } from "../exec/worker_pool.ts";
import { ensurePool, open } from "./_connection.ts";
import {
  type ControlMessage,
  decode,
  encode,
  names,
  type PresenceMessage,
  type ResultMessage,
  type TaskMessage,
  toWire,
  type WireError,
} from "./_protocol.ts";
import { NATS_WORKER_OPTIONS, type NatsWorkerOptions } from "./options.ts";
import type { Applied, applyAll } from "./_apply.ts";

// A task's items go to a local thread as one call of this kernel.
const APPLY = kernel<typeof applyAll>(new URL("./_apply.ts", import.meta.url), "applyAll");
// Tasks held at once per local thread: while one runs, the next is at hand.
const HELD_PER_THREAD = 4;

// How long a withdrawal is remembered.
const CANCEL_TTL_MS = 60 * 60 * 1000;
const PRESENCE_EVERY_MS = 1000;

/**
 * Serves pool `pool`: pulls its tasks, runs them on a local `WorkerPool` of
 * `size` threads, stores each task's results in JetStream and only then
 * acknowledges it, reporting progress while a task runs so a long one is
 * not sent elsewhere. It runs only kernels whose modules lie under
 * `allowModules`. Aborting `signal` drains it: it takes no more tasks,
 * finishes the ones running, hands back the ones not started, and returns.
 *
 * @param options `servers`, `pool`, `size`, `allowModules`, `signal`, `name`, auth.
 * @returns When the worker has drained (after `signal` aborts).
 * @throws {TypeError} When an option is wrong.
 *
 * @example A worker until Ctrl-C
 * ```ts ignore
 * import { serveNatsWorker } from "@conveyor/core/nats";
 *
 * const stop = new AbortController();
 * Deno.addSignalListener("SIGINT", () => stop.abort());
 * await serveNatsWorker({
 *   servers: "nats://10.0.0.1:4222",
 *   pool: "decode",
 *   allowModules: [new URL("./kernels/", import.meta.url)],
 *   signal: stop.signal,
 * });
 * ```
 */
export async function serveNatsWorker(options: NatsWorkerOptions): Promise<void> {
  const what = "serveNatsWorker";
  const o = checkOptions(what, NATS_WORKER_OPTIONS, options) as NatsWorkerOptions;
  for (const key of ["servers", "pool", "allowModules"] as const) {
    if (o?.[key] === undefined) throw new TypeError(`${what}: ${key} is required`);
  }
  const roots = o.allowModules.map(rootOf);
  const size = o.size ?? Math.min(navigator.hardwareConcurrency, MAX_POOL_SIZE);
  const signal = o.signal;
  const nc = await firstConnection(o, signal);
  if (nc === undefined) return; // aborted before a server answered
  const worker = new Worker_(nc, o.pool, size, roots, o.name ?? `${hostname()}:${Deno.pid}`);
  try {
    await ensurePool(nc, o.pool, undefined);
    await worker.serve(signal);
  } finally {
    await worker.close();
  }
}

// Connects, trying again every 250 ms while no server answers, until
// `signal` aborts (then undefined): a worker may start before its server.
async function firstConnection(
  o: NatsWorkerOptions,
  signal: AbortSignal | undefined,
): Promise<Awaited<ReturnType<typeof open>> | undefined> {
  while (!signal?.aborted) {
    try {
      return await open(o, false);
    } catch (error) {
      // Only an absent server is worth waiting for; a refused login is not.
      if (!/refused|timeout|ECONN|unreachable/i.test(String((error as Error).message))) throw error;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 250);
        signal?.addEventListener("abort", done, { once: true });
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          resolve();
        }
      });
    }
  }
  return undefined;
}

// A module root as a URL prefix: a folder ends with "/".
function rootOf(root: string | URL): string {
  const href = root instanceof URL
    ? root.href
    : /^[a-z][a-z0-9+.-]*:/i.test(root) && !/^[a-z]:[\\/]/i.test(root)
    ? new URL(root).href
    : pathToFileURL(resolve(root)).href;
  return href.endsWith("/") ? href : `${href}/`;
}

// (A class name that does not shadow the global Worker.)
class Worker_ {
  readonly #nc: Awaited<ReturnType<typeof open>>;
  readonly #js: JetStreamClient;
  readonly #names: ReturnType<typeof names>;
  readonly #pool: WorkerPool;
  readonly #size: number;
  readonly #roots: string[];
  readonly #id: string;
  readonly #cancelled = new Map<string, number>();
  readonly #running = new Map<string, AbortController>();
  readonly #holding = new Set<Promise<void>>();
  #tasksDone = 0;
  #stopping = false;
  #wake: (() => void) | undefined;
  #presenceTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    nc: Awaited<ReturnType<typeof open>>,
    pool: string,
    size: number,
    roots: string[],
    id: string,
  ) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#names = names(pool);
    this.#pool = new WorkerPool({ size, name: `nats-${pool}` });
    this.#size = size;
    this.#roots = roots;
    this.#id = id;
    nc.subscribe(this.#names.control, {
      callback: (error, msg) => {
        if (error === null) this.#onControl(decode<ControlMessage>(msg.data));
      },
    });
  }

  async serve(signal: AbortSignal | undefined): Promise<void> {
    const onAbort = () => {
      this.#stopping = true;
      this.#wake?.();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#presence();
    this.#presenceTimer = setInterval(() => this.#presence(), PRESENCE_EVERY_MS);
    let consumer: Consumer | undefined;
    try {
      while (!this.#stopping) {
        const free = HELD_PER_THREAD * this.#size - this.#holding.size;
        if (free <= 0) {
          await new Promise<void>((resolve) => this.#wake = resolve);
          this.#wake = undefined;
          continue;
        }
        try {
          consumer ??= await this.#js.consumers.get(this.#names.tasks, this.#names.consumer);
          const batch = await consumer.fetch({ max_messages: free, expires: 2000 });
          const stopFetch = () => batch.stop();
          signal?.addEventListener("abort", stopFetch, { once: true });
          try {
            for await (const m of batch) this.#hold(m);
          } finally {
            signal?.removeEventListener("abort", stopFetch);
          }
        } catch {
          consumer = undefined; // asked again: the server may have restarted
          if (this.#stopping || this.#nc.isClosed()) break;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      while (this.#holding.size > 0) await Promise.allSettled(this.#holding);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async close(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#presenceTimer);
    while (this.#holding.size > 0) await Promise.allSettled(this.#holding);
    await this.#pool.close();
    try {
      await this.#nc.drain();
    } catch {
      await this.#nc.close();
    }
  }

  #presence(): void {
    const presence: PresenceMessage = {
      id: this.#id,
      size: this.#size,
      holding: this.#holding.size,
      tasksDone: this.#tasksDone,
    };
    try {
      this.#nc.publish(this.#names.presence, encode(presence));
    } catch { /* reconnecting or closed */ }
  }

  #onControl(control: ControlMessage): void {
    const key = control.task === undefined ? control.job : `${control.job}:${control.task}`;
    const now = Date.now();
    this.#cancelled.set(key, now + CANCEL_TTL_MS);
    for (const [k, until] of this.#cancelled) if (until < now) this.#cancelled.delete(k);
    for (const [running, controller] of this.#running) {
      if (running === key || running.startsWith(`${control.job}:`) && control.task === undefined) {
        controller.abort(new Error("the task was withdrawn by its client"));
      }
    }
  }

  #hold(m: JsMsg): void {
    const holding: Promise<void> = this.#handle(m).catch(() => {}).finally(() => {
      this.#holding.delete(holding);
      this.#wake?.();
    });
    this.#holding.add(holding);
  }

  async #handle(m: JsMsg): Promise<void> {
    if (this.#stopping) return m.nak(); // not started: back to the pool
    const t = decode<TaskMessage>(m.data);
    const key = `${t.job}:${t.task}`;
    if (this.#cancelled.has(t.job) || this.#cancelled.has(key) || Date.now() > t.deadline) {
      return m.term("withdrawn or past its deadline");
    }
    const progress = setInterval(() => m.working(), Math.max(100, t.ackWaitMs / 3));
    const controller = new AbortController();
    this.#running.set(key, controller);
    try {
      const started = performance.now();
      const outcomes = await this.#outcomes(t, m.info.deliveryCount, controller.signal);
      if (controller.signal.aborted) return m.term("withdrawn");
      const result: ResultMessage = {
        job: t.job,
        task: t.task,
        seqs: t.seqs,
        values: outcomes.map((o) => (o.ok ? o.value ?? null : null)),
        errors: outcomes.flatMap((o, i) => (o.ok ? [] : [[i, o.error] as [number, WireError]])),
        busyMs: performance.now() - started,
        worker: this.#id,
      };
      await this.#store(result);
      this.#tasksDone += t.seqs.length;
      m.ack(); // if lost, the task runs again and its result is dropped as a duplicate
    } finally {
      clearInterval(progress);
      this.#running.delete(key);
    }
  }

  // Each item's value or error.
  async #outcomes(
    t: TaskMessage,
    deliveries: number,
    signal: AbortSignal,
  ): Promise<({ ok: true; value: unknown } | { ok: false; error: WireError })[]> {
    const failAll = (error: Error) =>
      t.seqs.map(() => ({ ok: false as const, error: toWire(error) }));
    if (deliveries > t.maxDeliver) {
      const error = new Error(
        `task of kernel "${t.exportName}" of ${t.module} was delivered ${deliveries} times, more than maxDeliver ${t.maxDeliver}: the workers running it died`,
      );
      error.name = "WorkerCrashError";
      return failAll(error);
    }
    if (!this.#roots.some((root) => t.module.startsWith(root))) {
      return failAll(
        new TypeError(
          `module ${t.module} is not under this worker's allowed modules (${
            this.#roots.join(", ")
          })`,
        ),
      );
    }
    const application = {
      module: t.module,
      exportName: t.exportName,
      inputs: t.inputs,
      spread: t.spread,
    };
    let applied: Applied;
    try {
      applied = await this.#pool.run(APPLY, application, { signal });
    } catch (error) {
      return failAll(error instanceof Error ? error : new Error(String(error)));
    }
    const failed = new Map(applied.errors);
    return applied.values.map((value, i) => {
      const error = failed.get(i);
      return error === undefined ? { ok: true as const, value } : { ok: false as const, error };
    });
  }

  // Stores a result, again while the server is away (stored once: its message id).
  async #store(result: ResultMessage): Promise<void> {
    const data = encode(result);
    const subject = this.#names.resultSubject(result.job);
    for (let attempt = 0;; attempt++) {
      try {
        await this.#js.publish(subject, data, {
          msgID: `${result.job}:${result.task}`,
          timeout: 5000,
        });
        return;
      } catch (error) {
        if (this.#nc.isClosed()) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * 2 ** attempt)));
      }
    }
  }
}
