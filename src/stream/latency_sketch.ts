/**
 * `LatencySketch`: task latency quantiles in bounded memory.
 *
 * @module
 */

// Log-scale buckets with 1% relative error (DDSketch's mapping) from 1 µs to
// about 2.8 hours: 1,150 counters, whatever the number of samples.
const ALPHA = 0.01;
const GAMMA = (1 + ALPHA) / (1 - ALPHA);
const LN_GAMMA = Math.log(GAMMA);
const MIN_MS = 1e-3;
const BUCKETS = Math.ceil(Math.log(1e7 / MIN_MS) / LN_GAMMA) + 1;

function bucketOf(ms: number): number {
  if (ms <= MIN_MS) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LN_GAMMA));
}

/**
 * Quantiles of durations in bounded memory: a log-scale histogram whose
 * estimates are within 1% of the true sample (exact at the minimum and
 * maximum), between 1 µs and a few hours.
 *
 * @example Quantiles of 1..1000 ms
 * ```ts
 * import { LatencySketch } from "./latency_sketch.ts";
 * import assert from "node:assert/strict";
 *
 * const sketch = new LatencySketch();
 * assert.ok(Number.isNaN(sketch.quantile(0.5)));
 * for (let ms = 1; ms <= 1000; ms++) sketch.add(ms);
 * assert.equal(sketch.count, 1000);
 * assert.ok(Math.abs(sketch.quantile(0.9) - 900) <= 9);
 * assert.equal(sketch.quantile(1), 1000);
 * ```
 */
export class LatencySketch {
  // Allocated by the first `add`: a stage that runs no task holds no counters.
  #counts: Float64Array | undefined;
  #count = 0;
  #min = Infinity;
  #max = -Infinity;

  /**
   * Adds one duration.
   *
   * @param ms The duration in milliseconds, at least 0.
   * @throws {RangeError} When `ms` is negative or NaN.
   */
  add(ms: number): void {
    if (!(ms >= 0)) {
      throw new RangeError(`Cannot add to latency sketch: ms must be a number >= 0, got ${ms}`);
    }
    (this.#counts ??= new Float64Array(BUCKETS))[bucketOf(ms)]! += 1;
    this.#count++;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** How many durations were added. */
  get count(): number {
    return this.#count;
  }

  /**
   * Estimates a quantile.
   *
   * @param q The quantile, from 0 (the minimum) to 1 (the maximum).
   * @returns The estimate in milliseconds, or `NaN` when the sketch is empty.
   * @throws {RangeError} When `q` is not between 0 and 1.
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) {
      throw new RangeError(`Cannot estimate quantile: q must be between 0 and 1, got ${q}`);
    }
    if (this.#count === 0) return NaN;
    if (q === 0) return this.#min;
    if (q === 1) return this.#max;
    const rank = q * this.#count; // nearest rank: the first value with q of the sample at or below
    const counts = this.#counts!;
    const last = bucketOf(this.#max);
    let seen = 0;
    let i = bucketOf(this.#min);
    for (; i < last; i++) {
      seen += counts[i]!;
      if (seen >= rank) break;
    }
    const estimate = i === 0 ? 0 : MIN_MS * GAMMA ** i * 2 / (1 + GAMMA);
    return Math.min(this.#max, Math.max(this.#min, estimate));
  }

  /**
   * The median, 90th and 99th percentiles.
   *
   * @returns The quantiles in milliseconds, or `undefined` when the sketch is empty.
   */
  summary(): { p50: number; p90: number; p99: number } | undefined {
    if (this.#count === 0) return undefined;
    return { p50: this.quantile(0.5), p90: this.quantile(0.9), p99: this.quantile(0.99) };
  }
}
