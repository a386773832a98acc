import assert from "node:assert/strict";
import { batch, unbatch, window } from "../mod.ts";
import { modes, random } from "./_util.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

for (const { name, from, pipe, collect } of modes) {
  Deno.test(`batch() groups items and keeps a short last batch unless dropLast (${name})`, async () => {
    assert.deepEqual(await collect(pipe(from(range(7)), batch(3))), [[0, 1, 2], [3, 4, 5], [6]]);
    assert.deepEqual(await collect(pipe(from(range(7)), batch(3, { dropLast: true }))), [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    assert.deepEqual(await collect(pipe(from(range(6)), batch(3, { dropLast: true }))), [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    assert.deepEqual(await collect(pipe(from([]), batch(3))), []);
  });

  Deno.test(`batch() with maxWaitMs flushes a partial batch when the source stalls (${name})`, async () => {
    const gate = Promise.withResolvers<void>();
    async function* stalling() {
      yield 0;
      yield 1;
      await gate.promise;
      yield 2;
      yield 3;
      yield 4;
    }
    const reader = pipe(from(stalling()), batch<number>(3, { maxWaitMs: 5 })).getReader();
    // Without the flush this read would wait for ever: the source waits for it.
    assert.deepEqual(await reader.read(), { value: [0, 1], done: false });
    gate.resolve();
    assert.deepEqual(await reader.read(), { value: [2, 3, 4], done: false });
    assert.deepEqual(await reader.read(), { value: undefined, done: true });
  });

  Deno.test(`batch() with maxWaitMs leaves no timer behind when cancelled (${name})`, async () => {
    async function* slow() {
      yield 0;
      await new Promise(() => {});
    }
    const reader = pipe(from(slow()), batch<number>(3, { maxWaitMs: 60_000 })).getReader();
    const pending = reader.read();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await reader.cancel("done");
    assert.deepEqual(await pending, { value: undefined, done: true });
  });

  Deno.test(`unbatch() flattens batches and reverses batch() (${name})`, async () => {
    const batches = await collect(pipe(from(range(10)), batch(4)));
    assert.deepEqual(await collect(pipe(from(batches), unbatch<number>())), range(10));
    assert.deepEqual(
      await collect(pipe(from([new Set(["a", "b"]), [], "cd"]), unbatch<string>())),
      ["a", "b", "c", "d"],
    );
  });

  Deno.test(`unbatch() errors on a chunk that is not iterable (${name})`, async () => {
    await assert.rejects(
      collect(
        pipe(from<unknown>([[1], 5]), unbatch<unknown>() as TransformStream<unknown, unknown>),
      ),
      (error: unknown) =>
        error instanceof TypeError && /chunk 1 is not iterable, got 5/.test(error.message),
    );
  });

  Deno.test(`window() slides by one, by step, and gives nothing for short input (${name})`, async () => {
    assert.deepEqual(await collect(pipe(from(range(5)), window(2))), [[0, 1], [1, 2], [2, 3], [
      3,
      4,
    ]]);
    assert.deepEqual(await collect(pipe(from(range(2)), window(3))), []);
    assert.deepEqual(await collect(pipe(from(range(7)), window(3, { step: 2 }))), [[0, 1, 2], [
      2,
      3,
      4,
    ], [4, 5, 6]]);
    assert.deepEqual(await collect(pipe(from(range(8)), window(2, { step: 3 }))), [[0, 1], [3, 4], [
      6,
      7,
    ]]);
    assert.deepEqual(await collect(pipe(from(range(5)), window(1))), [[0], [1], [2], [3], [4]]);
  });
}

Deno.test("lines() splits text however the chunks cut it", async () => {
  const { lines } = await import("../mod.ts");
  const chunks = ["ab", "c\nde", "f\r", "\n\ng", "h\r\n", "last"];
  for (const fused of [true, false]) {
    const s = ReadableStream.from(chunks);
    const out = fused ? s.pipeThrough(lines()) : s.pipeThrough(lines(), {});
    assert.deepEqual(await Array.fromAsync(out), ["abc", "def", "", "gh", "last"]);
  }
  const trailing = ReadableStream.from(["x\n", "y\n"]).pipeThrough(lines());
  assert.deepEqual(await Array.fromAsync(trailing), ["x", "y"]);
});

Deno.test("lines() gives the same lines as a split for any cut, long lines included", async () => {
  const { lines } = await import("../mod.ts");
  const rand = random(7);
  const long = "x".repeat(100_000);
  const text = ["a", "", "bc\r", long, "\r", "d\re", long + "\r", "f", ""].join("\n") + "tail\r";
  const expected = text.split("\n").map((l) => l.endsWith("\r") ? l.slice(0, -1) : l);
  for (let round = 0; round < 12; round++) {
    const chunks: string[] = [];
    for (let at = 0; at < text.length;) {
      const size = round === 0 ? 1 : Math.floor(rand() * (round % 2 ? 8 : 30_000));
      chunks.push(text.slice(at, at + size));
      at += size;
    }
    const out = await Array.fromAsync(ReadableStream.from(chunks).pipeThrough(lines()));
    assert.equal(out.length, expected.length, `round ${round}`);
    assert.deepEqual(out, expected, `round ${round}`);
  }
});

Deno.test("window() takes a name and stops when its signal aborts", async () => {
  const controller = new AbortController();
  const stage = window<number>(2, { name: "pairs", signal: controller.signal });
  assert.equal(stage.name, "pairs");
  const reader = ReadableStream.from([1, 2, 3, 4]).pipeThrough(stage).getReader();
  assert.deepEqual(await reader.read(), { value: [1, 2], done: false });
  controller.abort(new Error("enough"));
  await assert.rejects(reader.read(), /enough/);
});
