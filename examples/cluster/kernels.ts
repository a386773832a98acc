/**
 * The kernels of the cluster example (`pipeline.yaml`). `decode` is the
 * CPU-heavy stage that runs on the workers of a NATS pool, on any machine;
 * `summarize` is cheap and runs on the machine that runs the spec.
 *
 * Inputs and results travel between machines as JSON: numbers, strings,
 * arrays and plain objects (no typed arrays, no `Map`, no `undefined`).
 *
 * @module
 */

/** A frame's figures, as `decode` gives them. */
export interface Frame {
  /** The frame's number. */
  frame: number;
  /** The mean brightness, 0 to 255, after smoothing. */
  mean: number;
  /** How many pixels are brighter than 150 after smoothing. */
  bright: number;
  /** A checksum of the smoothed frame (the same on every machine). */
  checksum: number;
}

const SIDE = 96;

/**
 * "Decodes" frame `frame`: makes its 96×96 grey pixels from the number (a
 * seeded generator stands in for a compressed file), smooths them with three
 * passes of a 3×3 box blur, and measures the result; about a millisecond of
 * CPU.
 *
 * @example
 * ```ts
 * import { decode } from "./kernels.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(decode(7), decode(7));
 * assert.equal(decode(7).frame, 7);
 * ```
 */
export function decode(frame: number): Frame {
  let seed = (frame * 2654435761) >>> 0 || 1;
  let pixels = new Float64Array(SIDE * SIDE);
  for (let i = 0; i < pixels.length; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    pixels[i] = (seed >>> 0) % 256;
  }
  for (let pass = 0; pass < 3; pass++) {
    const out = new Float64Array(pixels.length);
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        let sum = 0;
        let n = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy >= 0 && yy < SIDE && xx >= 0 && xx < SIDE) {
              sum += pixels[yy * SIDE + xx]!;
              n++;
            }
          }
        }
        out[y * SIDE + x] = sum / n;
      }
    }
    pixels = out;
  }
  let total = 0;
  let bright = 0;
  let checksum = 0;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    total += v;
    if (v > 150) bright++;
    checksum = (checksum * 31 + Math.round(v)) >>> 0;
  }
  return { frame, mean: Math.round((total / pixels.length) * 100) / 100, bright, checksum };
}

/**
 * A batch of frames' figures summed up: the frames it holds, their mean
 * brightness, and the brightest frame.
 *
 * @example
 * ```ts
 * import { decode, summarize } from "./kernels.ts";
 * import assert from "node:assert/strict";
 *
 * const summary = summarize([decode(1), decode(2)]);
 * assert.deepEqual([summary.first, summary.last, summary.frames], [1, 2, 2]);
 * ```
 */
export function summarize(frames: Frame[]): {
  first: number;
  last: number;
  frames: number;
  mean: number;
  brightest: number;
} {
  const brightest = frames.reduce((a, b) => (b.bright > a.bright ? b : a));
  const mean = frames.reduce((sum, f) => sum + f.mean, 0) / frames.length;
  return {
    first: frames[0]!.frame,
    last: frames.at(-1)!.frame,
    frames: frames.length,
    mean: Math.round(mean * 100) / 100,
    brightest: brightest.frame,
  };
}
