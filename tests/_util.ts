// Helpers shared by the tests.

import { source } from "../mod.ts";

/** Resolves after `ms`; rejects with the signal's reason when it aborts, clearing the timer. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Lets pending promise reactions and zero-delay timers run `turns` times. */
export async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Waits until `condition` holds, polling every millisecond. The limit only
 * turns a bug into a failure instead of a hang: it is far above what a loaded
 * machine needs to start a worker, so no test depends on how fast that is.
 */
export async function eventually(
  condition: () => boolean,
  what: string,
  limitMs = 30_000,
): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** A deterministic pseudo-random generator (mulberry32, as the batch shuffle uses). */
export { seeded as random } from "../src/batch/_batch_order.ts";

/** A source of 0..n-1 that counts how many items were pulled and whether it was cancelled. */
export function counted(n = Infinity): {
  stream: ReadableStream<number>;
  pulls: () => number;
  cancelled: () => unknown[];
} {
  let pulls = 0;
  const reasons: unknown[] = [];
  const stream = new ReadableStream<number>({
    pull(controller) {
      if (pulls >= n) return controller.close();
      controller.enqueue(pulls++);
    },
    cancel(reason) {
      reasons.push(reason);
    },
  }, { highWaterMark: 0 });
  return { stream, pulls: () => pulls, cancelled: () => reasons };
}

/**
 * The two ways stages connect: "fused" (conveyor's `source` and stages piped
 * straight into each other, linked directly) and "streams" (every link a
 * standard pipe, as with foreign streams).
 */
export const modes = [
  {
    name: "fused",
    from: <T>(items: Iterable<T> | AsyncIterable<T>): ReadableStream<T> => source(items),
    pipe: <I, O>(s: ReadableStream<I>, t: TransformStream<I, O>): ReadableStream<O> =>
      s.pipeThrough(t),
    collect: <T>(s: ReadableStream<T>): Promise<T[]> => Array.fromAsync(s),
  },
  {
    name: "streams",
    from: <T>(items: Iterable<T> | AsyncIterable<T>): ReadableStream<T> =>
      ReadableStream.from(items),
    pipe: <I, O>(s: ReadableStream<I>, t: TransformStream<I, O>): ReadableStream<O> =>
      s.pipeThrough(t, {}),
    collect: readAll,
  },
] as const;

/** Reads a stream to its end through a reader (the standard path). */
export async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const reader = stream.getReader();
  const out: T[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return out;
      out.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}
