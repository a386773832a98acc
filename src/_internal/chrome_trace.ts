// The event store behind both trace recorders (the pipeline's TraceRecorder
// and the batches' BatchTraceRecorder): one event shape, one clock with its
// origin, one bound on memory, one file format. The recorders decide only
// which events a run gives and on which tracks.

import { checkOptions, isFunction, type Schema } from "./options.ts";

/**
 * One event of the Chrome trace-event format, as `TraceRecorder` and
 * `BatchTraceRecorder` write them.
 *
 * @example The event of one task
 * ```ts
 * import { type ChromeTraceEvent, TraceRecorder } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * let t = 0;
 * const trace = new TraceRecorder({ now: () => t });
 * const started = trace.begin("decode", 7);
 * t = 2;
 * trace.end("decode", 7, started, true);
 * const task: ChromeTraceEvent = trace.toJSON().traceEvents.find((e) => e.ph === "X")!;
 * assert.equal(task.name, "decode #7");
 * assert.equal(task.dur, 2000); // microseconds
 * assert.deepEqual(task.args, { index: 7, ok: true });
 * ```
 */
export interface ChromeTraceEvent {
  /**
   * The event's name: `"<stage> #<index>"` for a pipeline's task; an action's name,
   * `"batch #<n>"` or `"lock wait: <lock>"` in a batch run; `"thread_name"` and such for
   * metadata.
   */
  name: string;
  /** The phase: `"X"` a complete event, `"i"` an instant, `"M"` metadata. */
  ph: "X" | "i" | "M";
  /** The start time in microseconds since the recorder was created. */
  ts: number;
  /** The process id: 1 in a pipeline's trace; in a batch trace, the run's number, from 1. */
  pid: number;
  /**
   * The thread id: `1000 * stage + lane` in a pipeline's trace; in a batch run, 0 for the
   * consumer, then one per batch in flight.
   */
  tid: number;
  /** The category: the stage's name; in a batch run `"batch"`, `"action"`, `"lock wait"`, `"consumer"` or `"run"`. */
  cat?: string;
  /** The duration of a complete event in microseconds. */
  dur?: number;
  /** The scope of an instant event: `"g"` global, `"p"` its process, `"t"` its thread. */
  s?: "g" | "p" | "t";
  /** Data shown with the event. */
  args?: Record<string, unknown>;
}

/** A trace recorder's options: its clock and its bound. */
export interface TraceOptions {
  now?: () => number;
  maxEvents?: number;
}

/** The options of both trace recorders. */
export const TRACE_OPTIONS: Schema<TraceOptions> = {
  now: {
    doc: "The clock in milliseconds.",
    expected: "a function",
    test: isFunction,
    default: "() => performance.now()",
  },
  maxEvents: {
    doc: "Most events kept (metadata aside); later ones are dropped and counted.",
    expected: "a non-negative integer",
    test: (v) => typeof v === "number" && Number.isInteger(v) && v >= 0,
    default: "1_000_000",
    numeric: true,
  },
};

/** Events on one clock, at most `maxEvents` of them besides metadata, and the trace file they make. */
export class TraceEvents {
  /** The clock in milliseconds. */
  readonly now: () => number;
  readonly #origin: number;
  readonly #maxEvents: number;
  readonly #events: ChromeTraceEvent[] = [];
  readonly #metadata: ChromeTraceEvent[] = [];
  #dropped = 0;

  /** Checks `options` (errors start with `what`) and starts the clock. */
  constructor(what: string, options: TraceOptions | undefined) {
    const o = checkOptions(what, TRACE_OPTIONS, options);
    this.now = o.now ?? (() => performance.now());
    this.#maxEvents = o.maxEvents ?? 1_000_000;
    this.#origin = this.now();
  }

  /** Events dropped past `maxEvents`. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Events kept (metadata aside). */
  get size(): number {
    return this.#events.length;
  }

  /** The trace timestamp (µs since the start) of a time on the clock (ms). */
  ts(ms: number): number {
    return micros(ms - this.#origin);
  }

  /** Adds a complete event from `started` (on the clock) to now. */
  span(
    name: string,
    cat: string,
    pid: number,
    tid: number,
    started: number,
    args: Record<string, unknown>,
  ): void {
    const now = this.now();
    this.push({
      name,
      cat,
      ph: "X",
      ts: this.ts(started),
      dur: micros(now - started),
      pid,
      tid,
      args,
    });
  }

  /** Adds an event, or counts it as dropped past `maxEvents`. */
  push(event: ChromeTraceEvent): void {
    if (this.#events.length < this.#maxEvents) this.#events.push(event);
    else this.#dropped++;
  }

  /** Names a track: its `thread_name` and `thread_sort_index` (kept whatever the bound). */
  nameTrack(pid: number, tid: number, name: string): void {
    this.meta(pid, tid, "thread_name", { name });
    this.meta(pid, tid, "thread_sort_index", { sort_index: tid });
  }

  /** Adds a metadata event (kept whatever the bound). */
  meta(pid: number, tid: number, name: string, args: Record<string, unknown>): void {
    this.#metadata.push({ name, ph: "M", ts: 0, pid, tid, args });
  }

  /** The trace in Chrome's JSON object format: metadata, then the events. */
  toJSON(): { traceEvents: ChromeTraceEvent[]; displayTimeUnit: "ms" } {
    return { traceEvents: [...this.#metadata, ...this.#events], displayTimeUnit: "ms" };
  }
}

function micros(ms: number): number {
  return Math.round(ms * 1e6) / 1e3;
}
