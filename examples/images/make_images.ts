/**
 * Writes the demo's synthetic JPEGs into a folder, for examples/images.yaml:
 * `deno run -A examples/images/make_images.ts [DIR] [COUNT]` (default
 * `examples/images/data`, 256 images).
 *
 * @module
 */

import { generateImages } from "./generate.ts";

const dir = Deno.args[0] ?? new URL("./data", import.meta.url).pathname;
const count = Number(Deno.args[1] ?? 256);
await Deno.mkdir(dir, { recursive: true });
const { files, bytes } = await generateImages(dir, { count });
console.log(`${files.length} images, ${(bytes / 1e6).toFixed(1)} MB of JPEG, in ${dir}`);
