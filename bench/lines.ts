/**
 * `lines()` is linear in its input: one single line of 8 MB and of 32 MB,
 * and 32 MB of short lines, split from 64 KiB chunks (what a file's
 * `readable` and `TextDecoderStream` hand over). Prints each time and the
 * 32 MB / 8 MB ratio, which is about 4 for a linear splitter (16 for a
 * quadratic one). `BENCH_ROUNDS` changes the number of rounds (best kept).
 *
 * @module
 */

import { lines } from "../mod.ts";

const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const CHUNK = 64 * 1024;
const MB = 1024 * 1024;

/** The chunks of `text`, cut every CHUNK characters. */
function chunks(text: string): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length; at += CHUNK) out.push(text.slice(at, at + CHUNK));
  return out;
}

/** Best time (ms) to split `parts` over ROUNDS rounds; checks the line count. */
async function time(parts: string[], expectedLines: number): Promise<number> {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    let count = 0;
    for await (const _ of ReadableStream.from(parts).pipeThrough(lines())) count++;
    best = Math.min(best, performance.now() - start);
    if (count !== expectedLines) throw new Error(`got ${count} lines, expected ${expectedLines}`);
  }
  return best;
}

const single8 = await time(chunks("x".repeat(8 * MB)), 1);
const single32 = await time(chunks("x".repeat(32 * MB)), 1);
const short = "a short line of text, 40 characters ..\n";
const shortLines = Math.floor(32 * MB / short.length);
const many32 = await time(chunks(short.repeat(shortLines)), shortLines);

const rows = [
  ["one 8 MB line", single8],
  ["one 32 MB line", single32],
  ["32 MB of 40-byte lines", many32],
] as const;
console.log("lines(): 64 KiB chunks, best of", ROUNDS);
console.log("| input | ms | MB/s |");
console.log("|---|---|---|");
for (const [name, ms] of rows) {
  const mb = name.includes("8 MB") ? 8 : 32;
  console.log(`| ${name} | ${ms.toFixed(1)} | ${(mb / (ms / 1000)).toFixed(0)} |`);
}
console.log(
  `32 MB / 8 MB single line time ratio: ${
    (single32 / single8).toFixed(2)
  } (target about 4, not 16)`,
);
