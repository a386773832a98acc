/**
 * A recorder of pipeline tasks as Chrome trace events, for Perfetto
 * (https://ui.perfetto.dev) or `chrome://tracing`.
 *
 * @module
 */

import { type ChromeTraceEvent, TraceEvents } from "../_internal/chrome_trace.ts";

export type { ChromeTraceEvent };

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
   * Most events kept (metadata aside); later ones are dropped and counted.
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
  readonly #events: TraceEvents;
  readonly #stages = new Map<string, StageLanes>();

  /**
   * Starts the trace's clock.
   *
   * @param options `now` and `maxEvents`.
   * @throws {RangeError} When `maxEvents` is not a non-negative integer.
   * @throws {TypeError} When an option is unknown or has the wrong type.
   */
  constructor(options?: TraceRecorderOptions) {
    this.#events = new TraceEvents("Cannot create TraceRecorder", options);
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
    return this.#events.now();
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
    const lanes = this.#lanes(stage);
    const open = lanes.running.get(index);
    const lane = open?.pop();
    if (open?.length === 0) lanes.running.delete(index);
    if (lane !== undefined) lanes.busy[lane]! -= 1;
    else if (lanes.busy.length === 0) this.#nameLane(stage, lanes, 0);
    const tid = lanes.order * LANES_PER_STAGE + (lane ?? 0);
    this.#events.span(`${stage} #${index}`, stage, 1, tid, started, { index, ok });
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
      ts: this.#events.ts(this.#events.now()),
      pid: 1,
      tid: 0,
    };
    if (args !== undefined) event.args = args;
    this.#events.push(event);
  }

  /** Task and instant events dropped past `maxEvents`. */
  get dropped(): number {
    return this.#events.dropped;
  }

  /** Task and instant events kept. */
  get size(): number {
    return this.#events.size;
  }

  /**
   * The trace in Chrome's JSON object format: lane metadata, then the events.
   *
   * @returns An object for `JSON.stringify`.
   */
  toJSON(): { traceEvents: ChromeTraceEvent[]; displayTimeUnit: "ms" } {
    return this.#events.toJSON();
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
    this.#events.nameTrack(1, lanes.order * LANES_PER_STAGE + lane, `${stage} ${lane}`);
  }
}
