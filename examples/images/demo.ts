/**
 * The image demo, in the spirit of SPDL's ImageNet benchmark: JPEG files
 * into batches of normalized tensors, ready for a training step.
 *
 * It writes a seeded set of synthetic JPEG images to a temporary folder
 * (not timed), then runs the pipeline
 *
 *     list files → read (async I/O, 16 at once) → decode (workers)
 *       → resize to 224×224 and normalize (workers) → aggregate 32 → consumer
 *
 * and prints images/s, the per-stage statistics and the bottleneck. It then
 * does the same work sequentially on the main thread, prints the speedup,
 * and checks that both produced the same tensors (a checksum per image, in
 * file order): it exits with code 1 when they differ.
 *
 * Run it with `deno task demo`. `DEMO_IMAGES` sets the number of images
 * (default 256), `DEMO_SEED` the seed (default 42).
 *
 * @module
 */

import { join } from "node:path";
import { bottleneck, kernel, PipelineBuilder, type PipelineStats, renderStats } from "../../mod.ts";
import { generateImages, imageIndex } from "./generate.ts";
import { decode, type Image, resizeNormalize } from "./kernels.ts";

const COUNT = Number(Deno.env.get("DEMO_IMAGES") ?? 256);
const SEED = Number(Deno.env.get("DEMO_SEED") ?? 42);
const BATCH = 32;
const CORES = navigator.hardwareConcurrency;

// The kernels, typed as what arrives on the main thread: the pool unwraps
// the `transfer()` marks.
const KERNELS = new URL("./kernels.ts", import.meta.url);
const decodeKernel = kernel<(bytes: Uint8Array) => Image>(KERNELS, "decode");
const resizeKernel = kernel<(image: Image) => Float32Array>(KERNELS, "resizeNormalize");

/** The work a training step would do with a batch, kept cheap: a loss-like mean and a hash per image. */
class Consumer {
  /** One FNV-1a hash of the tensor's bits per image, by file index. */
  readonly hashes: Uint32Array;
  images = 0;
  batches = 0;
  sum = 0;

  constructor(count: number) {
    this.hashes = new Uint32Array(count);
  }

  step(batch: readonly Float32Array[], indices: readonly number[]): void {
    for (let i = 0; i < batch.length; i++) {
      const bits = new Uint32Array(batch[i]!.buffer, batch[i]!.byteOffset, batch[i]!.length);
      let h = 0x811c9dc5;
      let sum = 0;
      for (let j = 0; j < bits.length; j++) {
        h = Math.imul(h ^ bits[j]!, 0x01000193);
        sum += batch[i]![j]!;
      }
      this.hashes[indices[i]!] = h >>> 0;
      this.sum += sum / bits.length;
    }
    this.images += batch.length;
    this.batches++;
  }

  /** One hash over all images' hashes, in file order. */
  checksum(): string {
    let h = 0x811c9dc5;
    for (const x of this.hashes) h = Math.imul(h ^ x, 0x01000193);
    return (h >>> 0).toString(16).padStart(8, "0");
  }
}

// Lists the folder as the pipeline's source, noting the order it yields in.
async function* listFiles(dir: string, listed: string[]): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".jpg")) continue;
    const path = join(dir, entry.name);
    listed.push(path);
    yield path;
  }
}

async function runPipeline(
  dir: string,
): Promise<{ seconds: number; consumer: Consumer; stats: PipelineStats }> {
  const consumer = new Consumer(COUNT);
  const listed: string[] = [];
  const started = performance.now();
  // Every stage keeps input order, so the n-th tensor out is the n-th file listed.
  await using pipeline = new PipelineBuilder()
    .addSource(listFiles(dir, listed))
    .pipe((path: string) => Deno.readFile(path), {
      concurrency: 16,
      outputOrder: "input",
      name: "read",
    })
    .pipe(decodeKernel, {
      concurrency: 2 * CORES,
      outputOrder: "input",
      name: "decode",
      executor: "workers",
      transfer: true, // the JPEG's bytes move to the worker
    })
    .pipe(resizeKernel, {
      concurrency: 2 * CORES,
      outputOrder: "input",
      name: "resize",
      executor: "workers",
      transfer: true, // so do the decoded pixels
    })
    .aggregate(BATCH)
    .addSink(3)
    .build({ numThreads: CORES });
  for await (const batch of pipeline) {
    const at = consumer.images;
    consumer.step(batch, listed.slice(at, at + batch.length).map(imageIndex));
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, consumer, stats: pipeline.stats() };
}

async function runSequential(
  files: readonly string[],
): Promise<{ seconds: number; consumer: Consumer; split: Record<string, number> }> {
  const consumer = new Consumer(COUNT);
  const split: Record<string, number> = { read: 0, decode: 0, resize: 0, consume: 0 };
  const timed = <T>(what: string, f: () => T): T => {
    const t = performance.now();
    const value = f();
    split[what]! += performance.now() - t;
    return value;
  };
  const started = performance.now();
  let batch: Float32Array[] = [];
  let indices: number[] = [];
  for (const path of files) {
    const t = performance.now();
    const bytes = await Deno.readFile(path);
    split.read! += performance.now() - t;
    const image = timed("decode", () => decode(bytes).value);
    batch.push(timed("resize", () => resizeNormalize(image).value));
    indices.push(imageIndex(path));
    if (batch.length === BATCH || indices.length + consumer.images === files.length) {
      timed("consume", () => consumer.step(batch, indices));
      [batch, indices] = [[], []];
    }
  }
  return { seconds: (performance.now() - started) / 1000, consumer, split };
}

// bottleneck() reads buffer occupancy; when no stage stands out that way,
// take the pipe stage with the most busy time per worker it can use.
function slowest(stats: PipelineStats): { name: string; how: string } {
  const named = bottleneck(stats);
  if (named !== undefined) {
    return { name: named, how: "bottleneck(): its input buffer stayed full" };
  }
  const pipes = stats.stages.filter((s) => s.kind === "pipe");
  const perWorker = (s: (typeof pipes)[number]) =>
    s.busyMs / (s.name === "read" ? s.concurrency : Math.min(s.concurrency, CORES));
  const top = pipes.reduce((a, b) => perWorker(b) > perWorker(a) ? b : a);
  const list = pipes.map((s) => `${s.name} ${(perWorker(s) / 1000).toFixed(2)} s`).join(", ");
  return { name: top.name, how: `most busy time per worker (${list}); bottleneck() named none` };
}

const rate = (n: number, seconds: number): string => `${(n / seconds).toFixed(1)} images/s`;

if (import.meta.main) {
  if (!Number.isInteger(COUNT) || COUNT < 1) {
    console.error(`DEMO_IMAGES must be a positive integer, got ${Deno.env.get("DEMO_IMAGES")}`);
    Deno.exit(2);
  }
  const dir = await Deno.makeTempDir({ prefix: "conveyor-images-" });
  try {
    console.log(`Generating ${COUNT} synthetic JPEG images (seed ${SEED}) in ${dir} ...`);
    const t = performance.now();
    const { files, bytes } = await generateImages(dir, { count: COUNT, seed: SEED });
    console.log(
      `  ${(bytes / 1024 / 1024).toFixed(1)} MiB of JPEG in ${
        ((performance.now() - t) / 1000).toFixed(1)
      } s (not timed below)\n`,
    );

    console.log(
      `Pipeline: ${CORES} workers, read ×16, decode ×${2 * CORES}, resize ×${
        2 * CORES
      }, batches of ${BATCH}`,
    );
    const pipe = await runPipeline(dir);
    console.log(renderStats(pipe.stats));
    const slow = slowest(pipe.stats);
    console.log(
      `pipeline: ${pipe.consumer.images} images in ${pipe.seconds.toFixed(2)} s, ${
        rate(pipe.consumer.images, pipe.seconds)
      }`,
    );
    console.log(`bottleneck: ${slow.name} (by ${slow.how})\n`);

    console.log(
      "Sequential, on the main thread: read, decode, resize, consume, one image at a time",
    );
    const seq = await runSequential(files);
    const split = Object.entries(seq.split).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(2)} s`)
      .join(", ");
    console.log(
      `sequential: ${seq.consumer.images} images in ${seq.seconds.toFixed(2)} s, ${
        rate(seq.consumer.images, seq.seconds)
      } (${split})`,
    );
    console.log(`speedup: ${(seq.seconds / pipe.seconds).toFixed(2)}× on ${CORES} cores\n`);

    const [a, b] = [pipe.consumer.checksum(), seq.consumer.checksum()];
    if (pipe.consumer.images !== COUNT || a !== b) {
      console.error(
        `FAIL: the pipeline's tensors differ from the sequential run's: ${pipe.consumer.images} images, checksum ${a}; sequential: ${seq.consumer.images} images, checksum ${b}`,
      );
      Deno.exitCode = 1;
    } else {
      console.log(`checksum ${a}: the pipeline's ${COUNT} tensors equal the sequential run's`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
