/**
 * A recorder of pipeline tasks as Chrome trace events, for Perfetto
 * (https://ui.perfetto.dev) or `chrome://tracing`.
 *
 * @module
 */

import { checkOptions } from "../_internal/options.ts";
import { TRACE_RECORDER_OPTIONS } from "./options.ts";

/**
 * One event of the Chrome trace-event format.
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
  /** The event's name: `"<stage> #<index>"` for a task, `"thread_name"` for metadata. */
  name: string;
  /** The phase: `"X"` a complete event, `"i"` an instant, `"M"` metadata. */
  ph: "X" | "i" | "M";
  /** The start time in microseconds since the recorder was created. */
  ts: number;
  /** The process id, always 1. */
  pid: number;
  /** The thread id: `1000 * stage + lane`. */
  tid: number;
  /** The category: the stage's name. */
  cat?: string;
  /** The duration of a complete event in microseconds. */
  dur?: number;
  /** The scope of an instant event: `"g"` for global. */
  s?: "g" | "p" | "t";
  /** Data shown with the event. */
  args?: Record<string, unknown>;
}

/**
 * Options of `TraceRecorder`.
 *
 * @example A fixed clock and room for one event
 * ```ts
 * import { TraceRecorder, type TraceRecorderOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const options: TraceRecorderOptions = { now: () => 5, maxEvents: 1 };
 * const trace = new TraceRecorder(options);
 * trace.instant("started");
 * trace.instant("stopped");
 * assert.equal(trace.size, 1);
 * assert.equal(trace.dropped, 1);
 * assert.equal(trace.toJSON().traceEvents[0]!.ts, 0);
 * ```
 */
export interface TraceRecorderOptions {
  /**
   * The clock in milliseconds.
   *
   * @default {() => performance.now()}
   */
  now?: () => number;
  /**
   * Most task and instant events kept; later ones are dropped and counted.
   *
   * @default {1_000_000}
   */
  maxEvents?: number;
}

/** Lanes of one stage: tids `1000 * order + lane`. */
interface StageLanes {
  readonly order: number;
  /** Tasks running on each lane: 0 or 1, more only on the last lane. */
  readonly busy: number[];
  /** The lane of each running task, by item index. */
  readonly running: Map<number, number[]>;
}

const LANES_PER_STAGE = 1000;

/**
 * Records the start and end of every task of every stage as Chrome trace
 * events. Each stage gets its own lanes (thread ids `1000 * i + lane` for the
 * `i`-th stage seen), so tasks running at once sit on separate lanes, and a
 * lane is reused once its task ended; metadata events name the lanes
 * `"<stage> <lane>"`. `JSON.stringify(recorder)` is a trace file.
 * Memory is bounded by `maxEvents`: events past it are dropped and counted
 * (lane metadata is always kept and not counted). A stage with more than
 * 1,000 tasks at once puts the extra ones on its last lane.
 *
 * @example Two overlapping tasks on two lanes
 * ```ts
 * import { TraceRecorder } from "./trace.ts";
 * import assert from "node:assert/strict";
 *
 * let t = 0;
 * const trace = new TraceRecorder({ now: () => t });
 * const a = trace.begin("fetch", 0);
 * t = 1;
 * const b = trace.begin("fetch", 1);
 * t = 3;
 * trace.end("fetch", 0, a, true);
 * trace.end("fetch", 1, b, false);
 * const file = JSON.parse(JSON.stringify(trace));
 * const tasks = file.traceEvents.filter((e: { ph: string }) => e.ph === "X");
 * assert.deepEqual(tasks.map((e: { tid: number; dur: number }) => [e.tid, e.dur]), [[0, 3000], [1, 2000]]);
 * assert.equal(trace.size, 2);
 * ```
 */
export class TraceRecorder {
  readonly #now: () => number;
  readonly #origin: number;
  readonly #maxEvents: number;
  readonly #events: ChromeTraceEvent[] = [];
  readonly #metadata: ChromeTraceEvent[] = [];
  readonly #stages = new Map<string, StageLanes>();
  #dropped = 0;

  /**
   * Starts the trace's clock.
   *
   * @param options `now` and `maxEvents`.
   * @throws {RangeError} When `maxEvents` is not a non-negative integer.
   * @throws {TypeError} When an option is unknown or has the wrong type.
   */
  constructor(options?: TraceRecorderOptions) {
    const o = checkOptions("Cannot create TraceRecorder", TRACE_RECORDER_OPTIONS, options);
    this.#now = o.now ?? (() => performance.now());
    this.#maxEvents = o.maxEvents ?? 1_000_000;
    this.#origin = this.#now();
  }

  /**
   * Marks the start of a task and gives it a free lane of its stage.
   *
   * @param stage The stage's name.
   * @param index The item's index, unique among the stage's running tasks.
   * @returns The start time in milliseconds, to pass to `end`.
   */
  begin(stage: string, index: number): number {
    const lanes = this.#lanes(stage);
    let lane = lanes.busy.indexOf(0);
    if (lane === -1) {
      lane = Math.min(lanes.busy.length, LANES_PER_STAGE - 1);
      if (lane === lanes.busy.length) this.#nameLane(stage, lanes, lane);
    }
    lanes.busy[lane]! += 1;
    const open = lanes.running.get(index);
    if (open === undefined) lanes.running.set(index, [lane]);
    else open.push(lane);
    return this.#now();
  }

  /**
   * Records a finished task as one complete event and frees its lane.
   *
   * @param stage The stage's name.
   * @param index The item's index, as given to `begin`.
   * @param started What `begin` returned.
   * @param ok Whether the task succeeded.
   */
  end(stage: string, index: number, started: number, ok: boolean): void {
    const t = this.#now();
    const lanes = this.#lanes(stage);
    const open = lanes.running.get(index);
    const lane = open?.pop();
    if (open?.length === 0) lanes.running.delete(index);
    if (lane !== undefined) lanes.busy[lane]! -= 1;
    else if (lanes.busy.length === 0) this.#nameLane(stage, lanes, 0);
    this.#push({
      name: `${stage} #${index}`,
      cat: stage,
      ph: "X",
      ts: this.#micros(started - this.#origin),
      dur: this.#micros(t - started),
      pid: 1,
      tid: lanes.order * LANES_PER_STAGE + (lane ?? 0),
      args: { index, ok },
    });
  }

  /**
   * Records a moment across the whole trace, such as an error or a cancel.
   *
   * @param name What happened.
   * @param args Data shown with the event.
   */
  instant(name: string, args?: Record<string, unknown>): void {
    const event: ChromeTraceEvent = {
      name,
      ph: "i",
      s: "g",
      ts: this.#micros(this.#now() - this.#origin),
      pid: 1,
      tid: 0,
    };
    if (args !== undefined) event.args = args;
    this.#push(event);
  }

  /** Task and instant events dropped past `maxEvents`. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Task and instant events kept. */
  get size(): number {
    return this.#events.length;
  }

  /**
   * The trace in Chrome's JSON object format: lane metadata, then the events.
   *
   * @returns An object for `JSON.stringify`.
   */
  toJSON(): { traceEvents: ChromeTraceEvent[]; displayTimeUnit: "ms" } {
    return { traceEvents: [...this.#metadata, ...this.#events], displayTimeUnit: "ms" };
  }

  #lanes(stage: string): StageLanes {
    let lanes = this.#stages.get(stage);
    if (lanes === undefined) {
      lanes = { order: this.#stages.size, busy: [], running: new Map() };
      this.#stages.set(stage, lanes);
    }
    return lanes;
  }

  #nameLane(stage: string, lanes: StageLanes, lane: number): void {
    lanes.busy[lane] = 0;
    const tid = lanes.order * LANES_PER_STAGE + lane;
    const meta = { ph: "M", ts: 0, pid: 1, tid } as const;
    this.#metadata.push(
      { ...meta, name: "thread_name", args: { name: `${stage} ${lane}` } },
      { ...meta, name: "thread_sort_index", args: { sort_index: tid } },
    );
  }

  #push(event: ChromeTraceEvent): void {
    if (this.#events.length < this.#maxEvents) this.#events.push(event);
    else this.#dropped++;
  }

  #micros(ms: number): number {
    return Math.round(ms * 1e6) / 1e3;
  }
}
