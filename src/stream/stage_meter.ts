/**
 * `StageMeter`: what every stage measures of itself.
 *
 * @module
 */

import { LatencySketch } from "./latency_sketch.ts";
import type { StageStats } from "./types.ts";

// Tasks under TINY_MS are timed one in SAMPLE; under TINIEST_MS (by the
// recent mean), one in RARE: two clock reads cost about a microsecond in a
// busy pipeline, as much as such a task. Buffer changes that come faster
// than TINY_MS each are read one in CHANGES.
const TINY_MS = 0.02;
const SAMPLE = 16;
const TINIEST_MS = 0.0025;
const RARE = 128;
const CHANGES = 64;

/** A stage's own counters, which `StageMeter.report` completes with its measurements. */
export type StageCounts = Pick<
  StageStats,
  "name" | "itemsIn" | "itemsOut" | "failures" | "inFlight" | "concurrency" | "buffered"
>;

/**
 * Measures one stage: busy time and task latency, and how long its output
 * buffer held items (occupancy) and was at capacity (fullness), time-weighted
 * from the meter's creation to the report. Every stage owns one from its
 * construction. `buffer()` is meant for every change of the buffer and
 * allocates nothing. Tasks that take under 20 µs are timed one in 16 (one
 * in 128 under 2.5 µs) and the busy time scaled up from those, and fast
 * buffer changes are timed one in 64, so that metering stays cheap. A
 * buffer counts as full when it holds at least one item and at least
 * `capacity` items.
 *
 * @example A stage timed with a fake clock
 * ```ts
 * import { StageMeter } from "./stage_meter.ts";
 * import assert from "node:assert/strict";
 *
 * let t = 0;
 * const meter = new StageMeter(() => t);
 * const started = meter.taskStarted();
 * t = 10;
 * meter.taskEnded(started);
 * meter.buffer(2, 2); // full from t = 10
 * t = 40;
 * const counts = { name: "parse", itemsIn: 1, itemsOut: 1, failures: 0, inFlight: 0, concurrency: 2, buffered: 2 };
 * const stats = meter.report(counts);
 * assert.equal(stats.busyMs, 10);
 * assert.equal(stats.fullness, 0.75);
 * assert.equal(stats.occupancy, 0.75);
 * ```
 */
export class StageMeter {
  readonly #now: () => number;
  readonly #start: number;
  readonly #latency = new LatencySketch();
  // Task timing: every task while tasks take a while, one in `#every`
  // once they take microseconds (`#skip` counts down to the next timed one).
  #every = 1;
  #skip = 0;
  #tinyMs = 0;
  #tinies = 0;
  #tasks = 0;
  #timed = 0;
  #timedMs = 0;
  #holding = false;
  #full = false;
  #since: number;
  #occupiedMs = 0;
  #fullMs = 0;
  // Buffer changes that come faster than the clock is worth reading: each
  // counts as one unit of the state it leaves, and the time since the last
  // reading is shared out by units every CHANGES changes.
  #changes = 0;
  #unitsHolding = 0;
  #unitsFull = 0;
  #units = 0;
  #fast = false;
  #shortRun = 0;

  /**
   * Starts measuring now.
   *
   * @param now The clock in milliseconds; `performance.now()` unless given.
   */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#start = this.#since = now();
  }

  /**
   * Marks the start of a task; every task the stage runs passes here.
   * While tasks take microseconds only some are timed: the others get -1
   * and need no `taskEnded` (the tasks that ended, the started ones not in
   * flight, scale the busy time of the timed ones).
   *
   * @returns The start time, to pass to `taskEnded`, or -1 when the task is not timed.
   */
  taskStarted(): number {
    // Small enough for the compiler to inline into a stage's hot path.
    this.#tasks++;
    if (--this.#skip >= 0) return -1;
    this.#skip = this.#every - 1;
    return this.#now();
  }

  /**
   * Marks the end of a timed task, adding its duration to the busy time and
   * the latency sketch.
   *
   * @param started What `taskStarted` returned (-1: not timed, nothing to do).
   */
  taskEnded(started: number): void {
    if (started < 0) return;
    const ms = Math.max(0, this.#now() - started);
    this.#timed++;
    this.#timedMs += ms;
    this.#latency.add(ms);
    if (ms > 5 * TINY_MS) {
      // A slow task: time every task again, at once.
      this.#every = 1;
      this.#skip = 0;
    } else if (ms < TINY_MS) {
      // A tiny one: the recent mean of tiny tasks (the last eight or so)
      // says how rarely. A slow task (a pause) does not move it, so the
      // rate comes back at the next tiny one.
      this.#tinyMs = this.#tinies++ === 0 ? ms : this.#tinyMs + (ms - this.#tinyMs) / 8;
      this.#every = this.#tinyMs < TINIEST_MS ? RARE : SAMPLE;
    }
  }

  /**
   * Records a change of the output buffer. Only a move between empty,
   * holding and full counts: a caller may leave out the changes that stay
   * within one (more items in a buffer that holds some but is not full, or
   * in a full one).
   *
   * @param size Items in the buffer now.
   * @param capacity Items the buffer holds before it pushes back.
   */
  buffer(size: number, capacity: number): void {
    const holding = size > 0;
    const full = holding && size >= capacity;
    // No clock read unless the state moved (this runs for many items, and
    // stays small enough to be inlined).
    if (holding !== this.#holding || full !== this.#full) this.#moved(holding, full);
  }

  // The buffer moved between empty, holding and full.
  #moved(holding: boolean, full: boolean): void {
    if (this.#fast && ++this.#changes % CHANGES !== 0) {
      this.#units++;
      if (this.#holding) this.#unitsHolding++;
      if (this.#full) this.#unitsFull++;
      this.#holding = holding;
      this.#full = full;
      return;
    }
    const t = this.#now();
    const dt = t - this.#since;
    if (this.#units > 0) {
      // Shared out by the units gathered since the last reading, this one included.
      const units = this.#units + 1;
      const inHolding = this.#unitsHolding + (this.#holding ? 1 : 0);
      const inFull = this.#unitsFull + (this.#full ? 1 : 0);
      this.#occupiedMs += (dt * inHolding) / units;
      this.#fullMs += (dt * inFull) / units;
      this.#units = this.#unitsHolding = this.#unitsFull = 0;
      this.#fast = dt / units < TINY_MS;
      if (!this.#fast) this.#shortRun = 0;
    } else {
      if (this.#holding) this.#occupiedMs += dt;
      if (this.#full) this.#fullMs += dt;
      // Only a steady run of short stays counts as fast: one long stay in a
      // state between short ones (a buffer that refills at once) does not.
      this.#shortRun = dt < TINY_MS ? this.#shortRun + 1 : 0;
      this.#fast = this.#shortRun >= SAMPLE;
    }
    this.#since = t;
    this.#holding = holding;
    this.#full = full;
  }

  /**
   * A snapshot of the stage's statistics.
   *
   * @param counts The stage's own counters.
   * @returns The counters with the meter's measurements.
   */
  report(counts: StageCounts): StageStats {
    const t = this.#now();
    const open = t - this.#since;
    const elapsed = t - this.#start;
    const share = (ms: number) => elapsed > 0 ? Math.min(1, Math.max(0, ms / elapsed)) : 0;
    return {
      name: counts.name,
      itemsIn: counts.itemsIn,
      itemsOut: counts.itemsOut,
      failures: counts.failures,
      inFlight: counts.inFlight,
      concurrency: counts.concurrency,
      // The tasks that ended, timed or not, at the mean of the timed ones.
      busyMs: this.#timed === 0
        ? 0
        : (this.#timedMs * Math.max(this.#timed, this.#tasks - counts.inFlight)) / this.#timed,
      latencyMs: this.#latency.summary(),
      occupancy: share(this.#occupiedMs + (this.#holding ? open : 0)),
      fullness: share(this.#fullMs + (this.#full ? open : 0)),
      buffered: counts.buffered,
    };
  }
}
