/**
 * Synthetic JPEG images for the image demo: a seeded, deterministic stand-in
 * for a folder of ImageNet photos.
 *
 * Each image is 384×288 to 512×384 pixels: a two-colour gradient, a few
 * translucent circles and rectangles, and noise, so that it compresses to a
 * few tens of KB at quality 85 yet decodes to a few hundred KB of pixels.
 * Image `i` of seed `s` depends on `i` and `s` only.
 *
 * @module
 */

import { join } from "node:path";
import jpeg from "jpeg-js";
import type { Image } from "./kernels.ts";

/** Options of `generateImages`. */
export interface GenerateOptions {
  /**
   * How many images.
   *
   * @default {256}
   */
  count?: number;
  /**
   * The seed: the same seed gives the same files, byte for byte.
   *
   * @default {42}
   */
  seed?: number;
  /**
   * The JPEG quality, 1 to 100.
   *
   * @default {85}
   */
  quality?: number;
}

/** What `generateImages` wrote. */
export interface GeneratedImages {
  /** The folder. */
  dir: string;
  /** The files' paths, in index order (`image_00000.jpg`, ...). */
  files: string[];
  /** Their total size in bytes. */
  bytes: number;
}

// A seeded linear congruential generator of numbers in [0, 1): plenty for
// picture noise, and the same pictures for the same seed.
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => (a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296;
}

const clamp = (v: number): number => v < 0 ? 0 : v > 255 ? 255 : v;

/**
 * Draws image `index` of `seed`, uncompressed.
 *
 * @param index The image's number.
 * @param seed The seed.
 * @returns The RGBA image.
 */
export function syntheticImage(index: number, seed: number): Image {
  const next = random(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
  const width = 384 + Math.floor(next() * 129);
  const height = 288 + Math.floor(next() * 97);
  const colour = () => [next() * 255, next() * 255, next() * 255];
  const [from, to] = [colour(), colour()];
  const angle = next() * 2 * Math.PI;
  const [dx, dy] = [Math.cos(angle) / width, Math.sin(angle) / height];
  const data = new Uint8Array(width * height * 4);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 4) {
      const t = Math.min(1, Math.max(0, 0.5 + (x - width / 2) * dx + (y - height / 2) * dy));
      for (let c = 0; c < 3; c++) data[i + c] = from[c]! + (to[c]! - from[c]!) * t;
      data[i + 3] = 255;
    }
  }
  const shapes = 3 + Math.floor(next() * 6);
  for (let s = 0; s < shapes; s++) {
    const fill = colour();
    const alpha = 0.4 + next() * 0.6;
    const [cx, cy] = [next() * width, next() * height];
    const r = 20 + next() * Math.min(width, height) / 3;
    const round = next() < 0.5;
    const [x0, x1] = [Math.max(0, Math.floor(cx - r)), Math.min(width, Math.ceil(cx + r))];
    const [y0, y1] = [Math.max(0, Math.floor(cy - r)), Math.min(height, Math.ceil(cy + r))];
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        if (round && (x - cx) ** 2 + (y - cy) ** 2 > r * r) continue;
        const i = (y * width + x) * 4;
        for (let c = 0; c < 3; c++) data[i + c] = data[i + c]! + (fill[c]! - data[i + c]!) * alpha;
      }
    }
  }
  for (let i = 0; i < data.length; i += 4) {
    for (let c = 0; c < 3; c++) data[i + c] = clamp(data[i + c]! + (next() - 0.5) * 24);
  }
  return { width, height, data };
}

/**
 * Draws image `index` of `seed` and encodes it as a JPEG.
 *
 * @param index The image's number.
 * @param seed The seed.
 * @param quality The JPEG quality, 1 to 100.
 * @returns The JPEG file's bytes; the same arguments give the same bytes.
 *
 * @example Deterministic bytes
 * ```ts
 * import { syntheticJpeg } from "./generate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(syntheticJpeg(3, 7), syntheticJpeg(3, 7));
 * ```
 */
export function syntheticJpeg(index: number, seed: number, quality = 85): Uint8Array {
  const encoded = jpeg.encode(syntheticImage(index, seed), quality).data;
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

/**
 * Writes `count` synthetic JPEG images into `dir`, named `image_00000.jpg`
 * and on.
 *
 * @param dir An existing folder, e.g. from `Deno.makeTempDir()`.
 * @param options `count`, `seed`, `quality`.
 * @returns The folder, the files' paths in index order, and their total size.
 * @throws {RangeError} When `count` is not a positive integer.
 */
export async function generateImages(
  dir: string,
  options: GenerateOptions = {},
): Promise<GeneratedImages> {
  const { count = 256, seed = 42, quality = 85 } = options;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`Cannot generate images: count must be a positive integer, got ${count}`);
  }
  const files: string[] = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const path = join(dir, `image_${String(i).padStart(5, "0")}.jpg`);
    const jpegBytes = syntheticJpeg(i, seed, quality);
    await Deno.writeFile(path, jpegBytes);
    files.push(path);
    bytes += jpegBytes.byteLength;
  }
  return { dir, files, bytes };
}

/**
 * The number in an image's file name (`image_00042.jpg` gives 42).
 *
 * @param path The file's path or name.
 * @returns The index.
 * @throws {TypeError} When the name is not one `generateImages` writes.
 */
export function imageIndex(path: string): number {
  const match = /image_(\d+)\.jpg$/.exec(path);
  if (match === null) throw new TypeError(`Cannot read image index: unexpected file ${path}`);
  return Number(match[1]);
}
