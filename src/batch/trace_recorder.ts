/**
 * A recorder of batch pipeline runs as Chrome trace events, for Perfetto
 * (https://ui.perfetto.dev) or `chrome://tracing`.
 *
 * @module
 */

import { type ChromeTraceEvent, TraceEvents } from "../_internal/chrome_trace.ts";
import { OPEN_RUN, type RunTrace } from "./_symbols.ts";

export type { ChromeTraceEvent };

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
   * Most events kept (metadata aside); later ones are dropped and counted.
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
  readonly #events: TraceEvents;
  #runs = 0;

  /**
   * Starts the trace's clock.
   *
   * @param options `now` and `maxEvents`.
   * @throws {RangeError} When `maxEvents` is not a non-negative integer.
   * @throws {TypeError} When an option is unknown or has the wrong type.
   */
  constructor(options?: BatchTraceRecorderOptions) {
    this.#events = new TraceEvents("Cannot create BatchTraceRecorder", options);
  }

  /** Span and instant events dropped past `maxEvents`. */
  get dropped(): number {
    return this.#events.dropped;
  }

  /** Span and instant events kept. */
  get size(): number {
    return this.#events.size;
  }

  /**
   * The trace in Chrome's JSON object format: track names, then the events.
   *
   * @returns An object for `JSON.stringify`.
   */
  toJSON(): { traceEvents: ChromeTraceEvent[]; displayTimeUnit: "ms" } {
    return this.#events.toJSON();
  }

  /**
   * Starts recording a run named `what` ("genBatch", "run", "nextBatch"); for the run only.
   *
   * @ignore
   */
  [OPEN_RUN](what: string): RunTrace {
    const events = this.#events;
    const pid = ++this.#runs;
    const busy: boolean[] = []; // by track - 1
    const batches = new Map<number, { tid: number; started: number; size: number }>();
    events.meta(pid, 0, "process_name", { name: `batch run ${pid} (${what})` });
    events.nameTrack(pid, 0, "consumer");
    const span = (
      name: string,
      cat: string,
      tid: number,
      started: number,
      args: Record<string, unknown>,
    ) => events.span(name, cat, pid, tid, started, args);
    const trackOf = (batch: number) => batches.get(batch)?.tid ?? 0;
    return {
      now: events.now,
      batchCreated: (batch, size) => {
        let slot = busy.indexOf(false);
        if (slot === -1) {
          slot = busy.length;
          events.nameTrack(pid, slot + 1, `batch track ${slot + 1}`);
        }
        busy[slot] = true;
        batches.set(batch, { tid: slot + 1, started: events.now(), size });
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
        events.push({
          name: `run ${how}`,
          cat: "run",
          ph: "i",
          s: "p",
          ts: events.ts(events.now()),
          pid,
          tid: 0,
          args: { run: pid, how },
        }),
    };
  }
}
