// Items that move by promise reactions alone (a sync source into stages
// whose tasks return at once) never let the microtask queue empty: without
// turns of the event loop, a timer never fires, so an AbortSignal.timeout or
// a stop() from a timer would wait for the end of the stream, and an endless
// stream could not be stopped at all. Each test feeds a long stream (CAP
// items, seconds of work) and a timer that stops it within milliseconds:
// the stream must stop early, by the timer, and its source must be
// cancelled. Without the turns, every one of them reads all CAP items.

import assert from "node:assert/strict";
import { action, Batch, Dataset, map, PipelineBuilder, source } from "../mod.ts";

const CAP = 20_000_000;

/** What a counted source saw: items read, and (once it ended) whether it was closed early. */
interface Seen {
  items: number;
  /** Settles when the source's `finally` runs: true when it was closed before CAP items. */
  closed: Promise<boolean>;
}

/** A sync source of CAP numbers that records how far it got. */
function counted() {
  const ended = Promise.withResolvers<boolean>();
  const seen: Seen = { items: 0, closed: ended.promise };
  function* numbers(): Generator<number> {
    try {
      for (; seen.items < CAP; seen.items++) yield seen.items;
    } finally {
      ended.resolve(seen.items < CAP);
    }
  }
  return { seen, numbers };
}

/** The same, async, though it never waits for anything but promises. */
function countedAsync() {
  const ended = Promise.withResolvers<boolean>();
  const seen: Seen = { items: 0, closed: ended.promise };
  async function* numbers(): AsyncGenerator<number> {
    try {
      for (; seen.items < CAP; seen.items++) yield seen.items;
    } finally {
      ended.resolve(seen.items < CAP);
    }
  }
  return { seen, numbers };
}

const discard = () => new WritableStream<unknown>({ write() {} });

async function assertStopped(seen: Seen): Promise<void> {
  assert(seen.items < CAP, `the stream read all ${CAP} items: the timer never ran`);
  assert(await seen.closed, "the source was cancelled before its end");
}

Deno.test("a timeout signal stops source() through sync map stages (fused)", async () => {
  const { seen, numbers } = counted();
  const signal = AbortSignal.timeout(5);
  const out = source(numbers())
    .pipeThrough(map((x: number) => x + 1, { signal }))
    .pipeThrough(map((x: number) => x * 2));
  await assert.rejects(
    (async () => {
      for await (const _ of out) { /* drain */ }
    })(),
    { name: "TimeoutError" },
  );
  await assertStopped(seen);
});

Deno.test("a timeout signal stops an async source() through async map stages", async () => {
  const { seen, numbers } = countedAsync();
  const signal = AbortSignal.timeout(5);
  const out = source(numbers()).pipeThrough(map(async (x: number) => await x, { signal }));
  await assert.rejects(out.pipeTo(discard()), { name: "TimeoutError" });
  await assertStopped(seen);
});

Deno.test("a timeout signal stops source() piped straight into a WritableStream", async () => {
  const { seen, numbers } = counted();
  const signal = AbortSignal.timeout(5);
  await assert.rejects(source(numbers()).pipeTo(discard(), { signal }), { name: "TimeoutError" });
  await assertStopped(seen);
});

Deno.test("a timeout signal stops a map stage fed by ReadableStream.from", async () => {
  const { seen, numbers } = counted();
  const signal = AbortSignal.timeout(5);
  const out = ReadableStream.from(numbers()).pipeThrough(map((x: number) => x + 1, { signal }));
  await assert.rejects(out.pipeTo(discard()), { name: "TimeoutError" });
  await assertStopped(seen);
});

Deno.test("stop() from a timer ends a pipeline of sync pipe stages", async () => {
  const { seen, numbers } = counted();
  await using pipeline = new PipelineBuilder()
    .addSource(numbers())
    .pipe((x: number) => x + 1)
    .pipe((x: number) => x * 2)
    .addSink()
    .build();
  const timer = setTimeout(() => pipeline.stop(), 5);
  try {
    let count = 0;
    for await (const _ of pipeline) count++;
    assert(count < CAP, "the pipeline gave all its items: the timer never ran");
  } finally {
    clearTimeout(timer);
  }
  await assertStopped(seen);
});

class Tens extends Batch<number> {
  values: number[] = [];
  @action
  load() {
    this.values = this.indices.map((i) => i * 10);
  }
}

Deno.test("a timer ends a loop over batches whose actions are all sync", async () => {
  let fired = false;
  const timer = setTimeout(() => fired = true, 5);
  let batches = 0;
  try {
    for await (const batch of new Dataset(10, Tens).p.load().genBatch(2, { nIters: CAP })) {
      assert.equal(batch.values.length, 2);
      batches++;
      if (fired) break;
    }
  } finally {
    clearTimeout(timer);
  }
  assert(fired, `all ${batches} batches came before the timer ran`);
  assert(batches < CAP);
});
