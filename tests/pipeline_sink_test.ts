// The sink is the pipeline's reader (src/stream/buffered_reader.ts): it reads the
// last stage ahead by bufferSize items, hands them out in order however
// reads come, and drops what it read ahead when the pipeline stops or fails.

import assert from "node:assert/strict";
import { PipelineBuilder, PipelineEnded, PipelineFailure } from "../mod.ts";
import { counted, eventually } from "./_util.ts";

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

Deno.test("the sink reads bufferSize items ahead of a consumer that stopped reading", async () => {
  for (const size of [1, 3, 8]) {
    await using pipeline = new PipelineBuilder()
      .addSource(range(100))
      .pipe((x: number) => x * 2, { concurrency: 2, outputOrder: "input" })
      .addSink(size)
      .build();
    assert.equal(await pipeline.getItem(), 0);
    const sink = () => pipeline.stats().stages.at(-1)!;
    await eventually(() => sink().buffered === size, `${size} items read ahead`);
    // The stage before it is held back: it fills its own buffer, no more.
    await eventually(
      () => pipeline.stats().stages[0]!.buffered === 2,
      "the pipe stage's buffer full",
    );
    assert.equal(sink().itemsIn, 1 + size);
    assert.equal(sink().itemsOut, 1);
    assert.equal(pipeline.stats().stages[0]!.itemsIn, 1 + size + 2, "taken by the pipe stage");
    // What was read ahead comes out in order.
    for (let i = 1; i <= size + 2; i++) assert.equal(await pipeline.getItem(), i * 2);
  }
});

Deno.test("reads asked for at once get the items in order, then PipelineEnded", async () => {
  await using pipeline = new PipelineBuilder()
    .addSource(range(6))
    .pipe(async (x: number) => {
      await new Promise((resolve) => setTimeout(resolve, x % 2));
      return x;
    }, { concurrency: 3, outputOrder: "input" })
    .addSink(2)
    .build();
  const reads = Array.from({ length: 8 }, () => pipeline.getItem().catch((e) => e));
  const got = await Promise.all(reads);
  assert.deepEqual(got.slice(0, 6), [0, 1, 2, 3, 4, 5]);
  assert.ok(got[6] instanceof PipelineEnded && got[7] instanceof PipelineEnded, `${got.slice(6)}`);
  const sink = pipeline.stats().stages.at(-1)!;
  assert.deepEqual([sink.name, sink.kind, sink.itemsIn, sink.itemsOut, sink.buffered], [
    "sink",
    "sink",
    6,
    6,
    0,
  ]);
});

Deno.test("stop() drops what the sink read ahead, and cancels the source", async () => {
  const src = counted();
  const pipeline = new PipelineBuilder().addSource(src.stream).addSink(4).build();
  assert.equal(await pipeline.getItem(), 0);
  await eventually(() => pipeline.stats().stages[0]!.buffered === 4, "four items read ahead");
  await pipeline.stop();
  await assert.rejects(pipeline.getItem(), PipelineEnded);
  assert.equal(pipeline.stats().stages[0]!.buffered, 0);
  await eventually(() => src.cancelled().length === 1, "the source cancelled");
});

Deno.test("a failure drops what the sink read ahead: the next read throws the PipelineFailure", async () => {
  await using pipeline = new PipelineBuilder()
    .addSource(range(10))
    .pipe((x: number) => {
      if (x === 5) throw new Error("five");
      return x;
    }, { outputOrder: "input" })
    .addSink(8)
    .build({ maxFailures: 0 });
  assert.equal(await pipeline.getItem(), 0);
  const error = await pipeline.getItem().then(
    async () => {
      // Items 1..4 may be read before the failure arrives; then it throws.
      for (;;) await pipeline.getItem();
    },
  ).catch((e) => e);
  assert.ok(error instanceof PipelineFailure, `${error}`);
  await assert.rejects(pipeline.getItem(), PipelineFailure);
});

Deno.test("a sink straight after a ReadableStream source (no stage between) reads it", async () => {
  await using pipeline = new PipelineBuilder()
    .addSource(ReadableStream.from([1, 2, 3]))
    .addSink(2)
    .build();
  assert.deepEqual(await Array.fromAsync(pipeline), [1, 2, 3]);
  const sink = pipeline.stats().stages[0]!;
  assert.deepEqual([sink.itemsIn, sink.itemsOut], [3, 3]);
});

Deno.test("the readable of a stopped pipeline errors with an AbortError", async () => {
  const pipeline = new PipelineBuilder().addSource(range(Infinity)).addSink(1).build();
  const reader = pipeline.readable.getReader();
  assert.deepEqual(await reader.read(), { value: 0, done: false });
  await pipeline.stop();
  await assert.rejects(
    reader.read(),
    (e: unknown) => e instanceof DOMException && e.name === "AbortError",
  );
});
