/**
 * `StageMeter`: what a pipeline measures of one stage.
 *
 * @module
 */

import { LatencySketch } from "./latency_sketch.ts";
import type { PipelineStageStats } from "./stats.ts";

// Durations under this are "tiny": measured one in SAMPLE.
const TINY_MS = 0.02;
const SAMPLE = 16;

/**
 * Measures one stage: busy time and task latency, and how long its output
 * buffer held items (occupancy) and was at capacity (fullness), time-weighted
 * from the meter's creation to the report. `buffer()` is meant for every
 * change of the buffer and allocates nothing. A buffer counts as full when it
 * holds at least one item and at least `capacity` items.
 *
 * @example A stage timed with a fake clock
 * ```ts
 * import { StageMeter } from "./stats.ts";
 * import assert from "node:assert/strict";
 *
 * let t = 0;
 * const meter = new StageMeter("parse", "pipe", 2, () => t);
 * const started = meter.taskStarted();
 * t = 10;
 * meter.taskEnded(started);
 * meter.buffer(2, 2); // full from t = 10
 * t = 40;
 * const stats = meter.report({ itemsIn: 1, itemsOut: 1, failures: 0, inFlight: 0 });
 * assert.equal(stats.busyMs, 10);
 * assert.equal(stats.fullness, 0.75);
 * assert.equal(stats.buffered, 2);
 * ```
 */
export class StageMeter {
  readonly #name: string;
  readonly #kind: PipelineStageStats["kind"];
  readonly #concurrency: number;
  readonly #now: () => number;
  readonly #start: number;
  readonly #latency = new LatencySketch();
  // Task timing: every task while tasks take a while; one in SAMPLE once
  // they take a few microseconds (a clock read costs ~0.1 µs in Deno).
  #every = 1;
  #tick = 0;
  #ended = 0;
  #timed = 0;
  #timedMs = 0;
  #size = 0;
  #full = false;
  #since: number;
  #occupiedMs = 0;
  #fullMs = 0;
  // Buffer changes that come faster than the clock is worth reading: each
  // counts as one unit of the state it leaves, and the time since the last
  // reading is shared out by units every SAMPLE changes.
  #changes = 0;
  #unitsHolding = 0;
  #unitsFull = 0;
  #units = 0;
  #fast = false;
  #shortRun = 0;

  /**
   * Starts measuring now.
   *
   * @param name The stage's name.
   * @param kind What the stage does.
   * @param concurrency Most tasks the stage runs at once, or `Infinity`.
   * @param now The clock in milliseconds; `performance.now()` unless given.
   * @throws {RangeError} When `concurrency` is not a positive number.
   */
  constructor(
    name: string,
    kind: PipelineStageStats["kind"],
    concurrency: number,
    now: () => number = () => performance.now(),
  ) {
    if (!(concurrency > 0)) {
      throw new RangeError(
        `Cannot create stage meter: concurrency must be a positive number or Infinity, got ${concurrency}`,
      );
    }
    this.#name = name;
    this.#kind = kind;
    this.#concurrency = concurrency;
    this.#now = now;
    this.#start = this.#since = now();
  }

  /**
   * Marks the start of a task.
   *
   * @returns The start time, to pass to `taskEnded`.
   */
  taskStarted(): number {
    if (this.#every > 1 && ++this.#tick % this.#every !== 0) return NaN;
    return this.#now();
  }

  /**
   * Marks the end of a task, adding its duration to the busy time and the latency sketch.
   *
   * @param started What `taskStarted` returned.
   */
  taskEnded(started: number): void {
    this.#ended++;
    if (Number.isNaN(started)) return; // not timed: counted, and scaled into busy time
    const ms = Math.max(0, this.#now() - started);
    this.#timed++;
    this.#timedMs += ms;
    this.#latency.add(ms);
    if (ms < TINY_MS) this.#every = SAMPLE;
    else if (ms > 5 * TINY_MS) this.#every = 1;
  }

  /**
   * Records a change of the output buffer.
   *
   * @param size Items in the buffer now.
   * @param capacity Items the buffer holds before it pushes back.
   */
  buffer(size: number, capacity: number): void {
    const full = size > 0 && size >= capacity;
    // Only a change between empty, holding and full moves the shares: no
    // clock read otherwise (this runs for every item).
    if ((size > 0) === (this.#size > 0) && full === this.#full) {
      this.#size = size;
      return;
    }
    if (this.#fast && ++this.#changes % SAMPLE !== 0) {
      this.#units++;
      if (this.#size > 0) this.#unitsHolding++;
      if (this.#full) this.#unitsFull++;
      this.#size = size;
      this.#full = full;
      return;
    }
    const t = this.#now();
    const dt = t - this.#since;
    if (this.#units > 0) {
      // Shared out by the units gathered since the last reading, this one included.
      const units = this.#units + 1;
      const holding = this.#unitsHolding + (this.#size > 0 ? 1 : 0);
      const inFull = this.#unitsFull + (this.#full ? 1 : 0);
      this.#occupiedMs += (dt * holding) / units;
      this.#fullMs += (dt * inFull) / units;
      this.#units = this.#unitsHolding = this.#unitsFull = 0;
      this.#fast = dt / units < TINY_MS;
      if (!this.#fast) this.#shortRun = 0;
    } else {
      if (this.#size > 0) this.#occupiedMs += dt;
      if (this.#full) this.#fullMs += dt;
      // Only a steady run of short stays counts as fast: one long stay in a
      // state between short ones (a buffer that refills at once) does not.
      this.#shortRun = dt < TINY_MS ? this.#shortRun + 1 : 0;
      this.#fast = this.#shortRun >= SAMPLE;
    }
    this.#since = t;
    this.#size = size;
    this.#full = full;
  }

  /**
   * A snapshot of the stage's statistics.
   *
   * @param counts The stage's item counters.
   * @returns The counters with the meter's measurements.
   */
  report(
    counts: { itemsIn: number; itemsOut: number; failures: number; inFlight: number },
  ): PipelineStageStats {
    const t = this.#now();
    const open = t - this.#since;
    const elapsed = t - this.#start;
    const share = (ms: number) => elapsed > 0 ? Math.min(1, Math.max(0, ms / elapsed)) : 0;
    return {
      name: this.#name,
      kind: this.#kind,
      itemsIn: counts.itemsIn,
      itemsOut: counts.itemsOut,
      failures: counts.failures,
      inFlight: counts.inFlight,
      concurrency: this.#concurrency,
      busyMs: this.#timed === 0 ? 0 : (this.#timedMs * this.#ended) / this.#timed,
      latencyMs: this.#latency.summary(),
      occupancy: share(this.#occupiedMs + (this.#size > 0 ? open : 0)),
      fullness: share(this.#fullMs + (this.#full ? open : 0)),
      buffered: this.#size,
    };
  }
}
