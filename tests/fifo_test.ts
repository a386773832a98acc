import assert from "node:assert/strict";
import { Fifo } from "../src/stream/_fifo.ts";

Deno.test("Fifo keeps order across wrap-around and growth, and reuses its ring", () => {
  const fifo = new Fifo<number>(4);
  const out: number[] = [];
  let next = 0;
  // Fill and drain unevenly so that the head wraps, then grow past the ring.
  for (const [put, take] of [[6, 4], [5, 7], [20, 3], [1, 18]] as const) {
    for (let i = 0; i < put; i++) assert.equal(fifo.push(next++), fifo.size);
    for (let i = 0; i < take; i++) out.push(fifo.shift());
  }
  assert.equal(fifo.size, 0);
  assert.deepEqual(out, Array.from({ length: next }, (_, i) => i));
  fifo.push(1);
  fifo.push(2);
  fifo.clear();
  assert.equal(fifo.size, 0);
  fifo.push(3);
  assert.equal(fifo.shift(), 3);
});
