import assert from "node:assert/strict";
import { kernel, PipelineBuilder, WorkerPool } from "../mod.ts";
import {
  generateImages,
  imageIndex,
  syntheticImage,
  syntheticJpeg,
} from "../examples/images/generate.ts";
import { decode, type Image, resizeNormalize, SIZE } from "../examples/images/kernels.ts";

const KERNELS = new URL("../examples/images/kernels.ts", import.meta.url);
const decodeKernel = kernel<(bytes: Uint8Array) => Image>(KERNELS, "decode");
const resizeKernel = kernel<(image: Image) => Float32Array>(KERNELS, "resizeNormalize");

// ImageNet's normalization: the lowest and highest values a channel can take.
const LOW = (0 - 0.485) / 0.229;
const HIGH = (1 - 0.406) / 0.225;

/** The bytes of a typed array, to compare tensors bit for bit. */
const bits = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

Deno.test("decode() and resizeNormalize() turn a generated JPEG into a 3×224×224 normalized tensor", () => {
  const bytes = syntheticJpeg(0, 1);
  const marked = decode(bytes);
  const image = marked.value;
  assert(image.width >= 384 && image.width <= 512, `width ${image.width}`);
  assert(image.height >= 288 && image.height <= 384, `height ${image.height}`);
  assert.equal(image.data.length, image.width * image.height * 4);
  assert.deepEqual(marked.list, [image.data.buffer], "the pixel buffer is marked for transfer");
  const tensor = resizeNormalize(image);
  assert(tensor.value instanceof Float32Array);
  assert.equal(tensor.value.length, 3 * SIZE * SIZE);
  assert.deepEqual(tensor.list, [tensor.value.buffer]);
  let sum = 0;
  for (const v of tensor.value) {
    assert(Number.isFinite(v) && v >= LOW - 1e-5 && v <= HIGH + 1e-5, `value ${v} out of range`);
    sum += v;
  }
  assert(Math.abs(sum / tensor.value.length) < 2, "a plausible mean");
});

Deno.test("resizeNormalize() keeps a flat colour flat and normalizes it per channel", () => {
  const [width, height] = [300, 200];
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set([255, 128, 0, 255], i);
  const tensor = resizeNormalize({ width, height, data }).value;
  const plane = SIZE * SIZE;
  const expected = [(1 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, (0 - 0.406) / 0.225];
  for (let c = 0; c < 3; c++) {
    for (const i of [0, 1, plane / 2, plane - 1]) {
      assert(Math.abs(tensor[c * plane + i]! - expected[c]!) < 1e-5, `channel ${c} at ${i}`);
    }
  }
});

Deno.test("resizeNormalize() rejects an image whose data does not match its size", () => {
  assert.throws(
    () => resizeNormalize({ width: 10, height: 10, data: new Uint8Array(12) }),
    (e: unknown) => e instanceof TypeError && /10×10 with 12 bytes/.test(e.message),
  );
});

Deno.test("the kernels give the same tensor in a worker as on the main thread, bit for bit", async () => {
  await using pool = new WorkerPool({ size: 1 });
  for (const index of [0, 1]) {
    const bytes = syntheticJpeg(index, 5);
    const main = resizeNormalize(decode(bytes).value).value;
    const image = await pool.run(decodeKernel, bytes.slice());
    assert(image.data instanceof Uint8Array);
    const tensor = await pool.run(resizeKernel, image);
    assert(tensor instanceof Float32Array);
    assert.deepEqual(bits(tensor), bits(main));
  }
});

Deno.test("a decode → resize pipeline on workers gives the main thread's tensors, in input order", async () => {
  const inputs = [0, 1, 2].map((i) => syntheticJpeg(i, 9));
  await using pipeline = new PipelineBuilder()
    .addSource(inputs.map((b) => b.slice()))
    .pipe(decodeKernel, { concurrency: 2, outputOrder: "input", name: "decode" })
    .pipe(resizeKernel, { concurrency: 2, outputOrder: "input", name: "resize" })
    .addSink(2)
    .build({ numThreads: 2 });
  const out = await Array.fromAsync(pipeline);
  assert.equal(out.length, 3);
  out.forEach((tensor, i) => {
    assert.deepEqual(bits(tensor), bits(resizeNormalize(decode(inputs[i]!).value).value));
  });
});

Deno.test("the generator is deterministic: the same seed gives the same bytes", async () => {
  assert.deepEqual(syntheticJpeg(4, 42), syntheticJpeg(4, 42));
  assert.notDeepEqual(syntheticJpeg(4, 42), syntheticJpeg(4, 43));
  assert.notDeepEqual(syntheticJpeg(4, 42), syntheticJpeg(5, 42));
  assert.deepEqual(syntheticImage(7, 1), syntheticImage(7, 1));
  const dir = await Deno.makeTempDir({ prefix: "conveyor-images-test-" });
  try {
    const { files, bytes } = await generateImages(dir, { count: 2, seed: 42 });
    assert.deepEqual(files.map(imageIndex), [0, 1]);
    let total = 0;
    for (const [i, path] of files.entries()) {
      const written = await Deno.readFile(path);
      assert.deepEqual(written, syntheticJpeg(i, 42));
      total += written.byteLength;
    }
    assert.equal(bytes, total);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generateImages() rejects a count that is not a positive integer", async () => {
  await assert.rejects(
    generateImages("/nonexistent", { count: 0 }),
    (e: unknown) =>
      e instanceof RangeError && /count must be a positive integer, got 0/.test(e.message),
  );
});

Deno.test("examples/images.yaml runs through the CLI: every image, in batches of 32", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conveyor_images_yaml_" });
  try {
    await Deno.mkdir(`${dir}/images/data`, { recursive: true });
    await generateImages(`${dir}/images/data`, { count: 40, seed: 3 });
    // The example spec, with its kernels module where it lives and its data here.
    const kernels = new URL("../examples/images/spec_kernels.ts", import.meta.url);
    const spec = (await Deno.readTextFile(new URL("../examples/images.yaml", import.meta.url)))
      .replaceAll("./images/spec_kernels.ts", kernels.pathname);
    await Deno.writeTextFile(`${dir}/images.yaml`, spec);
    const cli = new URL("../src/cli.ts", import.meta.url);
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli.href, "run", "--no-progress", `${dir}/images.yaml`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const errors = new TextDecoder().decode(stderr);
    assert.equal(code, 0, errors);
    const steps = (await Deno.readTextFile(`${dir}/images/steps.jsonl`)).trim().split("\n")
      .map((line) => JSON.parse(line) as { images: number; mean: number });
    assert.deepEqual(steps.map((s) => s.images), [32, 8]);
    assert(steps.every((s) => Number.isFinite(s.mean)));
    assert.match(errors, /bottleneck/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
