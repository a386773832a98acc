// What `deno check` says of a batch pipeline's chain methods: each takes its
// action's arguments. Every `@ts-expect-error` line must be an error (an
// unused one fails the check). The file also runs as a test: the calls that
// type-check give the batches they should.

import assert from "node:assert/strict";
import {
  action,
  type ActionArgs,
  Batch,
  type BatchPipeline,
  Dataset,
  inbatchOptions,
  inbatchParallel,
} from "../mod.ts";

class Images extends Batch<number> {
  pixels: number[] = [];
  log: unknown[][] = [];

  @action
  load(n: number): void {
    this.pixels = this.indices.map((i) => i * n);
  }

  @action
  resize(size: number, fit: "cover" | "contain"): void {
    this.log.push(["resize", size, fit]);
  }

  @action
  label(...names: string[]): void {
    this.log.push(["label", ...names]);
  }

  items(): number[] {
    return [...this.pixels];
  }

  store(results: unknown[]): this {
    this.pixels = results as number[];
    return this;
  }

  // Per item: brighten(pixel, by); the pipeline passes `by` only. No
  // parameter is declared optional for the chain call to type-check.
  @action
  @inbatchParallel({ init: "items", post: "store", target: "async" })
  brighten(pixel: number, by: number): number {
    return pixel + by;
  }
}

Deno.test("chain methods take their action's arguments: the types", () => {
  const p: BatchPipeline<Images> = new Dataset(4, Images).p;
  p.load(10).resize(64, "cover").label().label("a", "b");
  p.load(10).brighten(1).brighten(2, inbatchOptions({ nWorkers: 2 }));
  p.brighten(inbatchOptions({ target: "for" }));

  // Building a pipeline runs nothing: these lines only make pipelines.
  // @ts-expect-error: load takes a number
  p.load("x");
  // @ts-expect-error: fit is "cover" or "contain"
  p.resize(64, "fill");
  // @ts-expect-error: one argument too many
  p.load(1, 2);
  // @ts-expect-error: label takes strings
  p.label("a", 2);
  // @ts-expect-error: by is a number
  p.brighten("1");
  // @ts-expect-error: the marker comes last
  p.brighten(inbatchOptions({}), 1);
  // @ts-expect-error: Images has no action "missing" (and the runtime says so)
  assert.throws(() => p.missing(), /Images has no action "missing"/);

  const args: ActionArgs<[size: number, fit: "cover" | "contain"]>[] = [
    [64, "cover"],
    ["contain"],
    [inbatchOptions({ nWorkers: 1 })],
  ];
  assert.equal(args.length, 3);
});

Deno.test("chain methods take their action's arguments: the run", async () => {
  const p = new Dataset(4, Images).p.load(10).brighten(1).brighten(
    2,
    inbatchOptions({ nWorkers: 2 }),
  )
    .resize(64, "cover").label("a");
  const [batch] = await Array.fromAsync(p.genBatch(4));
  assert.deepEqual(batch!.pixels, [3, 13, 23, 33]);
  assert.deepEqual(batch!.log, [["resize", 64, "cover"], ["label", "a"]]);
});
