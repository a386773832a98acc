/**
 * A recorder of batch pipeline runs as Chrome trace events, for Perfetto
 * (https://ui.perfetto.dev) or `chrome://tracing`.
 *
 * @module
 */

import { checkOptions } from "../_internal/options.ts";
import { BATCH_TRACE_RECORDER_OPTIONS } from "./options.ts";
import { OPEN_RUN, type RunTrace } from "./_symbols.ts";

/**
 * One event of the Chrome trace-event format (the same shape as the
 * pipeline's `ChromeTraceEvent`).
 *
 * @example The span of an action
 * ```ts
 * import { action, Batch, BatchTraceRecorder, type ChromeTraceEvent, Dataset } from "@conveyor/core/batch";
 * import assert from "node:assert/strict";
 *
 * class Rows extends Batch<number> {
 *   @action load() {}
 * }
 * const trace = new BatchTraceRecorder();
 * await new Dataset(2, Rows).p.load().run(2, { trace });
 * const load: ChromeTraceEvent = trace.toJSON().traceEvents.find((e) => e.name === "load")!;
 * assert.equal(load.ph, "X");
 * assert.deepEqual(load.args, { batch: 1, action: 1, outcome: "ok" });
 * ```
 */
export interface ChromeTraceEvent {
  /** The event's name: an action's name, `"batch #<n>"`, `"lock wait: <lock>"`, or metadata. */
  name: string;
  /** The phase: `"X"` a complete event, `"i"` an instant, `"M"` metadata. */
  ph: "X" | "i" | "M";
  /** The start time in microseconds since the recorder was created. */
  ts: number;
  /** The process id: the run's number, from 1, in the order runs started on this recorder. */
  pid: number;
  /** The thread id: 0 for the consumer, then one per batch in flight. */
  tid: number;
  /** The category: `"batch"`, `"action"`, `"lock wait"`, `"consumer"` or `"run"`. */
  cat?: string;
  /** The duration of a complete event in microseconds. */
  dur?: number;
  /** The scope of an instant event: `"p"` for the run's process. */
  s?: "g" | "p" | "t";
  /** Data shown with the event. */
  args?: Record<string, unknown>;
}

/**
 * Options of `BatchTraceRecorder`.
 *
 * @example A counting clock and room for two events
 * ```ts
 * import { action, Batch, BatchTraceRecorder, type BatchTraceRecorderOptions, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Rows extends Batch<number> {
 *   @action load() {}
 * }
 * let tick = 0;
 * const options: BatchTraceRecorderOptions = { now: () => tick++, maxEvents: 2 };
 * const trace = new BatchTraceRecorder(options);
 * await new Dataset(4, Rows).p.load().run(2, { trace });
 * assert.equal(trace.size, 2);
 * assert.ok(trace.dropped > 0);
 * ```
 */
export interface BatchTraceRecorderOptions {
  /**
   * The clock in milliseconds.
   *
   * @default {() => performance.now()}
   */
  now?: () => number;
  /**
   * Most span and instant events kept; later ones are dropped and counted.
   *
   * @default {1_000_000}
   */
  maxEvents?: number;
}

/**
 * Records batch pipeline runs as Chrome trace events: pass it as `trace` to
 * `genBatch`, `nextBatch` or `run`. Each run is a process (`pid`, from 1)
 * with one track (`tid`) per batch in flight: a batch takes the lowest free
 * track when it is created and frees it when its last action ends, so a run
 * with `prefetch: p` uses at most p + 1 tracks. On its track a batch is a
 * `"batch #n"` span holding one span per action call (named by the action)
 * and one `"lock wait: <lock>"` span for each time a `useLock` action found
 * its lock held; track 0 shows when the consumer waited for a batch, and an
 * instant event (`"run done"`, `"run failed"`, `"run stopped"`,
 * `"run cancelled"`) marks the run's end. Every span's `args` name the batch
 * (`batch`, from 1). `JSON.stringify(recorder)`
 * is a trace file. Memory is bounded by `maxEvents`: events past it are
 * dropped and counted (track names are always kept and not counted).
 *
 * @example Two batches at once on two tracks
 * ```ts
 * import { action, Batch, BatchTraceRecorder, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Rows extends Batch<number> {
 *   @action async load() {
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *   }
 * }
 * const trace = new BatchTraceRecorder();
 * await new Dataset(8, Rows).p.load().run(2, { prefetch: 1, trace });
 * const file = JSON.parse(JSON.stringify(trace));
 * const loads = file.traceEvents.filter((e: { name: string }) => e.name === "load");
 * assert.equal(loads.length, 4);
 * assert.deepEqual(new Set(loads.map((e: { tid: number }) => e.tid)), new Set([1, 2]));
 * ```
 */
export class BatchTraceRecorder {
  readonly #now: () => number;
  readonly #origin: number;
  readonly #maxEvents: number;
  readonly #events: ChromeTraceEvent[] = [];
  readonly #metadata: ChromeTraceEvent[] = [];
  #runs = 0;
  #dropped = 0;

  /**
   * Starts the trace's clock.
   *
   * @param options `now` and `maxEvents`.
   * @throws {RangeError} When `maxEvents` is not a non-negative integer.
   * @throws {TypeError} When an option is unknown or has the wrong type.
   */
  constructor(options?: BatchTraceRecorderOptions) {
    const o = checkOptions(
      "Cannot create BatchTraceRecorder",
      BATCH_TRACE_RECORDER_OPTIONS,
      options,
    );
    this.#now = o.now ?? (() => performance.now());
    this.#maxEvents = o.maxEvents ?? 1_000_000;
    this.#origin = this.#now();
  }

  /** Span and instant events dropped past `maxEvents`. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Span and instant events kept. */
  get size(): number {
    return this.#events.length;
  }

  /**
   * The trace in Chrome's JSON object format: track names, then the events.
   *
   * @returns An object for `JSON.stringify`.
   */
  toJSON(): { traceEvents: ChromeTraceEvent[]; displayTimeUnit: "ms" } {
    return { traceEvents: [...this.#metadata, ...this.#events], displayTimeUnit: "ms" };
  }

  /**
   * Starts recording a run named `what` ("genBatch", "run", "nextBatch"); for the run only.
   *
   * @ignore
   */
  [OPEN_RUN](what: string): RunTrace {
    const pid = ++this.#runs;
    const busy: boolean[] = []; // by track - 1
    const batches = new Map<number, { tid: number; started: number; size: number }>();
    this.#name(pid, 0, "process_name", { name: `batch run ${pid} (${what})` });
    this.#nameTrack(pid, 0, "consumer");
    const micros = (ms: number) => Math.round(ms * 1e6) / 1e3;
    const span = (
      name: string,
      cat: string,
      tid: number,
      started: number,
      args: Record<string, unknown>,
    ) => {
      const t = this.#now();
      this.#push({
        name,
        cat,
        ph: "X",
        ts: micros(started - this.#origin),
        dur: micros(t - started),
        pid,
        tid,
        args,
      });
    };
    const trackOf = (batch: number) => batches.get(batch)?.tid ?? 0;
    return {
      now: this.#now,
      batchCreated: (batch, size) => {
        let slot = busy.indexOf(false);
        if (slot === -1) {
          slot = busy.length;
          this.#nameTrack(pid, slot + 1, `batch track ${slot + 1}`);
        }
        busy[slot] = true;
        batches.set(batch, { tid: slot + 1, started: this.#now(), size });
      },
      batchEnded: (batch, outcome) => {
        const open = batches.get(batch);
        if (open === undefined) return;
        batches.delete(batch);
        busy[open.tid - 1] = false;
        span(`batch #${batch}`, "batch", open.tid, open.started, {
          batch,
          size: open.size,
          outcome,
        });
      },
      action: (batch, action, name, started, outcome) =>
        span(name, "action", trackOf(batch), started, { batch, action, outcome }),
      lockWait: (batch, action, name, lock, started) =>
        span(`lock wait: ${lock}`, "lock wait", trackOf(batch), started, {
          batch,
          action,
          name,
          lock,
        }),
      consumerWait: (batch, started) =>
        span(`wait for batch #${batch}`, "consumer", 0, started, { batch }),
      ended: (how) =>
        this.#push({
          name: `run ${how}`,
          cat: "run",
          ph: "i",
          s: "p",
          ts: micros(this.#now() - this.#origin),
          pid,
          tid: 0,
          args: { run: pid, how },
        }),
    };
  }

  #nameTrack(pid: number, tid: number, name: string): void {
    this.#name(pid, tid, "thread_name", { name });
    this.#name(pid, tid, "thread_sort_index", { sort_index: tid });
  }

  #name(pid: number, tid: number, name: string, args: Record<string, unknown>): void {
    this.#metadata.push({ name, ph: "M", ts: 0, pid, tid, args });
  }

  #push(event: ChromeTraceEvent): void {
    if (this.#events.length < this.#maxEvents) this.#events.push(event);
    else this.#dropped++;
  }
}
