import assert from "node:assert/strict";
import { batch, filter, flatMap, map, prefetch, source, window } from "../mod.ts";

const id = (x: unknown) => x;

Deno.test("stages reject bad options at creation, naming the option and the value", () => {
  const cases: [() => unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    [
      () => map(id, { concurrency: 0 }),
      RangeError,
      /map stage: concurrency must be a positive integer or Infinity, got 0/,
    ],
    [() => map(id, { concurrency: -1 }), RangeError, /concurrency .* got -1/],
    [() => map(id, { concurrency: 1.5 }), RangeError, /concurrency .* got 1\.5/],
    [() => map(id, { concurrency: NaN }), RangeError, /concurrency .* got NaN/],
    [() => map(id, { concurrency: "4" as unknown as number }), TypeError, /concurrency .* got "4"/],
    [
      () => filter(id as () => boolean, { concurrency: 0 }),
      RangeError,
      /filter stage: concurrency/,
    ],
    [() => flatMap(() => [], { concurrency: -2 }), RangeError, /flatMap stage: concurrency/],
    [
      () => map(id, { ordered: "yes" as unknown as boolean }),
      TypeError,
      /ordered must be a boolean, got "yes"/,
    ],
    [
      () => map(id, { onError: "ignore" as "skip" }),
      TypeError,
      /onError must be "fail" or "skip", got "ignore"/,
    ],
    [() => map(id, { maxFailures: -1 }), RangeError, /maxFailures .* got -1/],
    [
      () => map(id, { onError: "fail", maxFailures: 3 }),
      TypeError,
      /maxFailures applies only with onError "skip"/,
    ],
    [() => map(id, { name: "" }), TypeError, /name must be a non-empty string, got ""/],
    [
      () => map(id, { signal: {} as AbortSignal }),
      TypeError,
      /signal must be an AbortSignal, got an object/,
    ],
    [
      () => map(id, 5 as unknown as object),
      TypeError,
      /map stage: options must be an object, got 5/,
    ],
    [
      () => map(null as unknown as () => void),
      TypeError,
      /map stage: fn must be a function, got null/,
    ],
    [
      () => filter("x" as unknown as () => boolean),
      TypeError,
      /filter stage: predicate must be a function, got "x"/,
    ],
    [
      () => flatMap(3 as unknown as () => number[]),
      TypeError,
      /flatMap stage: fn must be a function, got 3/,
    ],
    [() => batch(0), RangeError, /batch stage: size must be a positive integer, got 0/],
    [() => batch(2.5), RangeError, /size .* got 2\.5/],
    [
      () => batch(2, { maxWaitMs: -5 }),
      RangeError,
      /maxWaitMs must be a non-negative number of milliseconds up to 2147483647, or Infinity, got -5/,
    ],
    [
      () => batch(2, { dropLast: 1 as unknown as boolean }),
      TypeError,
      /dropLast must be a boolean, got 1/,
    ],
    [() => window(0), RangeError, /window stage: size must be a positive integer, got 0/],
    [
      () => window(2, { step: 0 }),
      RangeError,
      /window stage: step must be a positive integer, got 0/,
    ],
    [() => prefetch(-1), RangeError, /prefetch stage: n must be a non-negative integer, got -1/],
    [() => prefetch(Infinity), RangeError, /n must be a non-negative integer, got Infinity/],
    [
      () => source(42 as unknown as number[]),
      TypeError,
      /source: input must be an iterable.*got 42/,
    ],
  ];
  for (const [make, kind, message] of cases) {
    assert.throws(make, (error: unknown) => {
      assert(error instanceof kind, `${String(error)} should be a ${kind.name}`);
      assert.match((error as Error).message, message);
      return true;
    });
  }
});

Deno.test("a stage made with an aborted signal errors at once with the reason", async () => {
  const reason = new Error("already stopped");
  const out = ReadableStream.from([1, 2]).pipeThrough(
    map(id, { signal: AbortSignal.abort(reason) }),
  );
  await assert.rejects(Array.fromAsync(out), (error: unknown) => error === reason);
});
