// Deno.bench groups for the stream stages (`deno bench -A`). The peer
// comparison lives in compare.ts; these track the stages' own costs.

import { batch, filter, map, prefetch, source, unbatch, window } from "../mod.ts";

const N = 10_000;
function* numbers(): Generator<number> {
  for (let i = 0; i < N; i++) yield i;
}
const noop = async (x: number): Promise<number> => await x;

async function drain(stream: ReadableStream<unknown>): Promise<void> {
  for await (const _ of stream);
}

Deno.bench("identity TransformStream x3", { group: "three stages", baseline: true }, async () => {
  let s: ReadableStream<number> = ReadableStream.from(numbers());
  for (let i = 0; i < 3; i++) s = s.pipeThrough(new TransformStream());
  await drain(s);
});

Deno.bench("map async c16 x3, source()", { group: "three stages" }, async () => {
  let s: ReadableStream<number> = source(numbers());
  for (let i = 0; i < 3; i++) s = s.pipeThrough(map(noop, { concurrency: 16 }));
  await drain(s);
});

Deno.bench("map async c16 x3, ReadableStream.from", { group: "three stages" }, async () => {
  let s: ReadableStream<number> = ReadableStream.from(numbers());
  for (let i = 0; i < 3; i++) s = s.pipeThrough(map(noop, { concurrency: 16 }));
  await drain(s);
});

Deno.bench("map async c16 x3, standard pipes", { group: "three stages" }, async () => {
  let s: ReadableStream<number> = ReadableStream.from(numbers());
  for (let i = 0; i < 3; i++) s = s.pipeThrough(map(noop, { concurrency: 16 }), {});
  await drain(s);
});

Deno.bench("map sync", { group: "one stage", baseline: true }, async () => {
  await drain(source(numbers()).pipeThrough(map((x: number) => x + 1)));
});

Deno.bench("map async c16 unordered", { group: "one stage" }, async () => {
  await drain(source(numbers()).pipeThrough(map(noop, { concurrency: 16, ordered: false })));
});

Deno.bench("filter", { group: "one stage" }, async () => {
  await drain(source(numbers()).pipeThrough(filter((x: number) => x % 2 === 0)));
});

Deno.bench("batch(64) + unbatch", { group: "one stage" }, async () => {
  await drain(source(numbers()).pipeThrough(batch(64)).pipeThrough(unbatch()));
});

Deno.bench("window(4)", { group: "one stage" }, async () => {
  await drain(source(numbers()).pipeThrough(window(4)));
});

Deno.bench("prefetch(16)", { group: "one stage" }, async () => {
  await drain(source(numbers()).pipeThrough(prefetch(16)));
});
