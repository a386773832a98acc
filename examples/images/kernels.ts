/**
 * The image demo's kernels: JPEG decoding and resize-and-normalize, the two
 * CPU-bound steps of SPDL's ImageNet benchmark.
 *
 * They are plain, pure functions. The pipeline runs them on its worker pool
 * as kernels (`kernel(new URL("./kernels.ts", import.meta.url), "decode")`);
 * the sequential baseline calls them on the main thread. Each returns its
 * result wrapped by `transfer()`, so that a worker hands its pixel buffer
 * back to the main thread without a copy; on the main thread, read `.value`.
 *
 * @module
 */

import jpeg from "jpeg-js";
import { type Transfer, transfer } from "../../mod.ts";

/** A decoded image: `width × height` pixels, 4 bytes each (RGBA), row after row. */
export interface Image {
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
  /** RGBA bytes, `width × height × 4` of them. */
  data: Uint8Array;
}

/** The side of the square the images are resized to, as for ImageNet models. */
export const SIZE = 224;

// ImageNet's per-channel mean and standard deviation (RGB, on 0..1 values).
const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;

/**
 * Decodes a JPEG file's bytes into RGBA pixels.
 *
 * @param bytes The JPEG file's bytes.
 * @returns The image, marked so that its pixel buffer is transferred.
 * @throws {Error} When `bytes` is not a JPEG that jpeg-js can read.
 *
 * @example Decoding an image made by the generator
 * ```ts
 * import { decode } from "./kernels.ts";
 * import { syntheticJpeg } from "./generate.ts";
 * import assert from "node:assert/strict";
 *
 * const image = decode(syntheticJpeg(0, 1)).value;
 * assert.equal(image.data.length, image.width * image.height * 4);
 * ```
 */
export function decode(bytes: Uint8Array): Transfer<Image> {
  const { width, height, data } = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  return transfer({ width, height, data });
}

// For each output coordinate, the two source coordinates around its centre
// and the weight of the second (half-pixel centres, edges clamped, as
// torchvision's and PIL's bilinear resize without antialiasing).
function taps(from: number): { lo: Int32Array; hi: Int32Array; w: Float64Array } {
  const lo = new Int32Array(SIZE);
  const hi = new Int32Array(SIZE);
  const w = new Float64Array(SIZE);
  const scale = from / SIZE;
  for (let i = 0; i < SIZE; i++) {
    const at = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), from - 1);
    lo[i] = Math.floor(at);
    hi[i] = Math.min(lo[i]! + 1, from - 1);
    w[i] = at - lo[i]!;
  }
  return { lo, hi, w };
}

/**
 * Resizes an image to 224×224 with bilinear interpolation and normalizes it
 * with ImageNet's mean and standard deviation: `(v / 255 - mean) / std` per
 * channel. The result is a tensor in CHW layout (three planes of 224×224:
 * red, green, blue), the input of an ImageNet classifier.
 *
 * @param image The decoded RGBA image.
 * @returns `3 × 224 × 224` values, marked so that the buffer is transferred.
 * @throws {TypeError} When the image's size and data do not match.
 *
 * @example A tensor from a generated image
 * ```ts
 * import { decode, resizeNormalize } from "./kernels.ts";
 * import { syntheticJpeg } from "./generate.ts";
 * import assert from "node:assert/strict";
 *
 * const tensor = resizeNormalize(decode(syntheticJpeg(0, 1)).value).value;
 * assert.equal(tensor.length, 3 * 224 * 224);
 * ```
 */
export function resizeNormalize(image: Image): Transfer<Float32Array> {
  const { width, height, data } = image;
  if (
    !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 ||
    !(data instanceof Uint8Array) || data.length !== width * height * 4
  ) {
    throw new TypeError(
      `Cannot resize image: expected positive integer width and height and width × height × 4 RGBA bytes, got ${width}×${height} with ${data?.length} bytes`,
    );
  }
  const plane = SIZE * SIZE;
  const out = new Float32Array(3 * plane);
  const xs = taps(width);
  const ys = taps(height);
  const scale = MEAN.map((_, c) => 1 / (255 * STD[c]!));
  const shift = MEAN.map((m, c) => m / STD[c]!);
  for (let y = 0; y < SIZE; y++) {
    const row0 = ys.lo[y]! * width * 4;
    const row1 = ys.hi[y]! * width * 4;
    const wy = ys.w[y]!;
    for (let x = 0; x < SIZE; x++) {
      const a = row0 + xs.lo[x]! * 4;
      const b = row0 + xs.hi[x]! * 4;
      const c = row1 + xs.lo[x]! * 4;
      const d = row1 + xs.hi[x]! * 4;
      const wx = xs.w[x]!;
      const at = y * SIZE + x;
      for (let ch = 0; ch < 3; ch++) {
        const top = data[a + ch]! + (data[b + ch]! - data[a + ch]!) * wx;
        const bottom = data[c + ch]! + (data[d + ch]! - data[c + ch]!) * wx;
        const v = top + (bottom - top) * wy;
        out[ch * plane + at] = v * scale[ch]! - shift[ch]!;
      }
    }
  }
  return transfer(out, [out.buffer]);
}
