import assert from "node:assert/strict";
import { map, prefetch } from "../mod.ts";
import { counted, settle } from "./_util.ts";

for (const fused of [true, false]) {
  const label = fused ? "fused" : "streams";
  const pipe = <I, O>(s: ReadableStream<I>, t: TransformStream<I, O>) =>
    fused ? s.pipeThrough(t) : s.pipeThrough(t, {});

  Deno.test(`prefetch(n) reads exactly n items ahead of a consumer that stopped reading (${label})`, async () => {
    for (const n of [1, 3, 8]) {
      const src = counted();
      const reader = pipe(src.stream, prefetch<number>(n)).getReader();
      await settle();
      assert.equal(src.pulls(), n, `prefetch(${n}) before any read`);
      assert.deepEqual(await reader.read(), { value: 0, done: false });
      assert.deepEqual(await reader.read(), { value: 1, done: false });
      await settle();
      assert.equal(src.pulls(), 2 + n, `prefetch(${n}) after two reads`);
      await reader.cancel();
    }
  });

  Deno.test(`prefetch(n) after a map keeps n results ready (${label})`, async () => {
    const src = counted();
    let calls = 0;
    const out = pipe(pipe(src.stream, map((x: number) => (calls++, x * 2))), prefetch<number>(5));
    const reader = out.getReader();
    await settle();
    // Five results wait in the prefetch buffer, one more is held by the map stage.
    assert.equal(calls, 6);
    assert.deepEqual(await reader.read(), { value: 0, done: false });
    await settle();
    assert.equal(calls, 7);
    await reader.cancel();
  });
}

Deno.test("prefetch(0) passes items through", async () => {
  const out = ReadableStream.from([1, 2, 3]).pipeThrough(prefetch<number>(0));
  assert.deepEqual(await Array.fromAsync(out), [1, 2, 3]);
});
