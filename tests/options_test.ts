import assert from "node:assert/strict";
import {
  batch,
  filter,
  flatMap,
  kernel,
  kernelStage,
  map,
  native,
  nativePool,
  PipelineBuilder,
  prefetch,
  ProcessPool,
  source,
  TraceRecorder,
  unbatch,
  window,
  WorkerPool,
} from "../mod.ts";

const id = (x: unknown) => x;

Deno.test("stages reject bad options at creation, naming the option and the value", () => {
  const cases: [() => unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    [
      () => map(id, { concurrency: 0 }),
      RangeError,
      /map stage: concurrency must be a positive integer, Infinity or "auto", got 0/,
    ],
    [
      () => map(id, { concurrency: "Auto" as "auto" }),
      TypeError,
      /concurrency must be a positive integer, Infinity or "auto", got "Auto"/,
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

/** An options bag with a key its type does not have, as a caller's typo makes one. */
function typo<T>(bag: Record<string, unknown>): T {
  return bag as T;
}

/** What `call` throws or rejects with. */
async function failure(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error("no error");
}

const square = kernel<(x: number) => number>(
  new URL("./fixtures/kernels.ts", import.meta.url),
  "square",
);
const LIBC = Deno.build.os === "darwin" ? "libSystem.dylib" : "libc.so.6";
const ABS = { abs: { parameters: ["i32"], result: "i32" } } as const;

Deno.test("a typo in any options bag is a TypeError naming the function, the key and the option meant", async () => {
  await using workers = new WorkerPool({ size: 1 });
  await using processes = new ProcessPool({ size: 1 });
  await using pipeline = new PipelineBuilder().addSource([1]).addSink().build();
  const pipeline1 = () => new PipelineBuilder().addSource([1]);
  // [what the message starts with or names, the call, the misspelt key, the key meant]
  const cases: [string, () => unknown, string, string][] = [
    [
      "Cannot create map stage",
      () => map(id, typo({ concurency: 4 })),
      "concurency",
      "concurrency",
    ],
    [
      "Cannot create filter stage",
      () => filter(Boolean, typo({ orderd: false })),
      "orderd",
      "ordered",
    ],
    [
      "Cannot create flatMap stage",
      () => flatMap(() => [], typo({ onErorr: "skip" })),
      "onErorr",
      "onError",
    ],
    ["Cannot create batch stage", () => batch(2, typo({ droplast: true })), "droplast", "dropLast"],
    ["Cannot create window stage", () => window(2, typo({ stpe: 1 })), "stpe", "step"],
    ["Cannot create prefetch stage", () => prefetch(2, typo({ nmae: "ahead" })), "nmae", "name"],
    ["Cannot create unbatch stage", () => unbatch(typo({ signl: undefined })), "signl", "signal"],
    ["Cannot create WorkerPool", () => new WorkerPool(typo({ sise: 2 })), "sise", "size"],
    [
      "Cannot create ProcessPool",
      () => new ProcessPool(typo({ permisions: {} })),
      "permisions",
      "permissions",
    ],
    ["WorkerPool.run", () => workers.run(square, 2, typo({ retires: 1 })), "retires", "retries"],
    [
      "ProcessPool.run",
      () => processes.run(square, 2, typo({ signall: undefined })),
      "signall",
      "signal",
    ],
    [
      "Cannot create pool map stage",
      () => workers.map(square, typo({ concurency: 2 })),
      "concurency",
      "concurrency",
    ],
    [
      "Cannot create pool map stage",
      () => processes.map(square, typo({ retrys: 2 })),
      "retrys",
      "retries",
    ],
    [
      "Cannot create kernel stage",
      () => kernelStage(square, "main", typo({ concurency: 2 })),
      "concurency",
      "concurrency",
    ],
    ["Cannot open native library", () => native(LIBC, ABS, typo({ evn: "LIBC" })), "evn", "env"],
    [
      "Cannot open native pool",
      () => nativePool(LIBC, ABS, typo({ thread: 2 })),
      "thread",
      "threads",
    ],
    [
      "(pipe)",
      () => pipeline1().pipe(id, typo({ concurency: 2 })).addSink().build(),
      "concurency",
      "concurrency",
    ],
    [
      "(aggregate)",
      () => pipeline1().aggregate(2, typo({ droplast: true })).addSink().build(),
      "droplast",
      "dropLast",
    ],
    ["build", () => pipeline1().addSink().build(typo({ numThread: 2 })), "numThread", "numThreads"],
    ["Pipeline.getItem", () => pipeline.getItem(typo({ timout: 5 })), "timout", "timeout"],
    [
      "Cannot create TraceRecorder",
      () => new TraceRecorder(typo({ maxEvent: 5 })),
      "maxEvent",
      "maxEvents",
    ],
  ];
  for (const [what, call, key, meant] of cases) {
    const error = await failure(call);
    assert(error instanceof TypeError, `${what}: ${String(error)} should be a TypeError`);
    assert(error.message.includes(what), `${error.message} should name ${what}`);
    assert(
      error.message.includes(`unknown option "${key}" (did you mean ${meant}?)`),
      `${error.message} should suggest ${meant} for ${key}`,
    );
  }
});
