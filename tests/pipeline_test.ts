import assert from "node:assert/strict";
import {
  kernel,
  lines,
  type Pipeline,
  PipelineBuilder,
  PipelineEnded,
  PipelineFailure,
  PipelineTimeout,
  renderStats,
  type TaskContext,
  TraceRecorder,
} from "../mod.ts";
import type * as k from "./fixtures/kernels.ts";
import { eventually, random, sleep } from "./_util.ts";

const FIXTURE = new URL("./fixtures/kernels.ts", import.meta.url);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Wraps `fn` to record the most calls in flight at once. */
function gauge<I, O>(fn: (x: I) => Promise<O>): { fn: (x: I) => Promise<O>; max: () => number } {
  let now = 0, max = 0;
  return {
    fn: async (x) => {
      max = Math.max(max, ++now);
      try {
        return await fn(x);
      } finally {
        now--;
      }
    },
    max: () => max,
  };
}

Deno.test("SPDL's download/preprocess example: at most 4 downloads and 2 preprocess tasks at once", async () => {
  const next = random(7);
  const download = gauge(async (url: string) => {
    await sleep(1 + Math.floor(next() * 8));
    return `<${url}>`;
  });
  const preprocess = gauge(async (data: string) => {
    await sleep(1 + Math.floor(next() * 4));
    return data.length;
  });
  const urls = range(60).map((i) => `https://example.com/${i}`);
  await using pipeline = new PipelineBuilder()
    .addSource(urls)
    .pipe(download.fn, { concurrency: 4, outputOrder: "input", name: "download" })
    .pipe(preprocess.fn, { concurrency: 2, outputOrder: "input", name: "preprocess" })
    .addSink(3)
    .build({ numThreads: 3 });
  const out = await Array.fromAsync(pipeline);
  assert.deepEqual(out, urls.map((u) => u.length + 2), "input order kept");
  assert.equal(download.max(), 4);
  assert.equal(preprocess.max(), 2);
  const stats = pipeline.stats();
  assert.deepEqual(stats.stages.map((s) => [s.name, s.itemsIn, s.itemsOut]), [
    ["download", 60, 60],
    ["preprocess", 60, 60],
    ["sink", 60, 60],
  ]);
});

Deno.test('outputOrder "completion" (the default) lets a fast item overtake a slow one', async () => {
  await using pipeline = new PipelineBuilder()
    .addSource([0, 1, 2])
    .pipe(async (x: number) => {
      await sleep(x === 0 ? 40 : 1);
      return x;
    }, { concurrency: 3 })
    .addSink()
    .build();
  const out = await Array.fromAsync(pipeline);
  assert.equal(out.at(-1), 0, "the slow first item comes out last");
  assert.deepEqual([...out].sort(), [0, 1, 2]);
});

Deno.test("a kernel stage runs on the worker pool, numThreads at once", async () => {
  const cells = new Int32Array(new SharedArrayBuffer(8));
  const inside = kernel<typeof k.inside>(FIXTURE, "inside");
  await using pipeline = new PipelineBuilder()
    .addSource(range(12).map(() => ({ cells, ms: 15, until: 2 })))
    .pipe(inside, { concurrency: 8 })
    .addSink()
    .build({ numThreads: 2 });
  const out = await Array.fromAsync(pipeline);
  assert.deepEqual(out, range(12).map(() => "worker"), "it ran off the main thread");
  assert.equal(cells[1], 2, "numThreads: 2 bounds the kernels running at once");
  assert.equal(cells[0], 0);
});

Deno.test("a kernel stage can run on processes, on the main thread, or on a pool of yours", async () => {
  const where = kernel<typeof k.where>(FIXTURE, "where");
  for (const [executor, expected] of [["main", "main"], ["processes", "main"]] as const) {
    await using pipeline = new PipelineBuilder()
      .addSource([undefined, undefined])
      .pipe(where, { executor })
      .addSink()
      .build({ numThreads: 1 });
    // A child process runs kernels on its own main thread.
    assert.deepEqual(await Array.fromAsync(pipeline), [expected, expected], executor);
  }
});

Deno.test("aggregate(3) / disaggregate() round-trip; dropLast drops a short last batch", async () => {
  await using whole = new PipelineBuilder().addSource(range(7)).aggregate(3).addSink().build();
  const batches = await Array.fromAsync(whole);
  assert.deepEqual(batches, [[0, 1, 2], [3, 4, 5], [6]]);
  await using round = new PipelineBuilder().addSource(range(7)).aggregate(3).disaggregate()
    .addSink().build();
  assert.deepEqual(await Array.fromAsync(round), range(7));
  await using dropped = new PipelineBuilder().addSource(range(7))
    .aggregate(3, { dropLast: true }).addSink().build();
  assert.deepEqual(await Array.fromAsync(dropped), [[0, 1, 2], [3, 4, 5]]);
});

const failOn = (bad: number[]) => (x: number) => {
  if (bad.includes(x)) throw new RangeError(`bad item ${x}`);
  return x;
};

Deno.test("maxFailures 0: one throwing item ends the pipeline with a PipelineFailure naming stage and item", async () => {
  await using pipeline = new PipelineBuilder()
    .addSource(range(10))
    .pipe(failOn([4]), { name: "check", outputOrder: "input" })
    .addSink()
    .build();
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const x of pipeline) seen.push(x);
    })(),
    (error: unknown) => {
      assert(error instanceof PipelineFailure);
      assert(error instanceof AggregateError);
      assert.equal(error.errors.length, 1);
      assert.equal(error.errors[0]!.stage, "check");
      assert.equal(error.errors[0]!.index, 4);
      assert.equal((error.errors[0]!.cause as Error).message, "bad item 4");
      assert.match(error.message, /stage "check"/);
      return true;
    },
  );
  assert(!seen.includes(4));
});

Deno.test("maxFailures 5 with 3 failing items yields every other item and counts 3 failures", async () => {
  await using pipeline = new PipelineBuilder()
    .addSource(range(20))
    .pipe(failOn([3, 9, 15]), { name: "check", concurrency: 4, outputOrder: "input" })
    .addSink()
    .build({ maxFailures: 5 });
  const out = await Array.fromAsync(pipeline);
  assert.deepEqual(out, range(20).filter((x) => ![3, 9, 15].includes(x)));
  assert.equal(pipeline.stats().stages[0]!.failures, 3);
});

Deno.test("a stage's own maxFailures overrides the pipeline's", async () => {
  await using pipeline = new PipelineBuilder()
    .addSource(range(10))
    .pipe(failOn([1, 2]), { name: "strict", maxFailures: 1 })
    .addSink()
    .build({ maxFailures: 5 });
  await assert.rejects(Array.fromAsync(pipeline), PipelineFailure);
});

Deno.test("breaking out of for await stops everything: source, workers, timers", async () => {
  let finalized = false;
  async function* numbers() {
    try {
      for (let i = 0;; i++) yield i;
    } finally {
      finalized = true;
    }
  }
  const reports: number[] = [];
  const pipeline = new PipelineBuilder()
    .addSource(numbers())
    .pipe(kernel<typeof k.square>(FIXTURE, "square"), { concurrency: 4, outputOrder: "input" })
    .addSink()
    .build({ numThreads: 2, reportStatsInterval: 5, onStats: (s) => reports.push(s.elapsedMs) });
  const out: number[] = [];
  for await (const x of pipeline) {
    out.push(x);
    if (out.length === 5) break;
  }
  assert.deepEqual(out, [0, 1, 4, 9, 16]);
  assert(finalized, "the generator's finally ran");
  assert(pipeline.stats().done);
  assert(reports.length >= 1, "a last report at the end");
});

Deno.test("stop() mid-run ends tasks and iteration; getItem then says it ended", async () => {
  const pipeline = new PipelineBuilder()
    .addSource(range(1000))
    .pipe(async (x: number, { signal }: TaskContext) => {
      await sleep(2, signal);
      return x;
    }, { concurrency: 4 })
    .pipe(kernel<typeof k.square>(FIXTURE, "square"))
    .addSink()
    .build({ numThreads: 1, reportStatsInterval: 10, onStats: () => {} });
  assert.equal(typeof await pipeline.getItem(), "number");
  await pipeline.stop();
  await pipeline.stop();
  await assert.rejects(pipeline.getItem(), PipelineEnded);
  await eventually(
    () => pipeline.stats().stages.every((s) => s.inFlight === 0),
    "the tasks to see their signal and end",
  );
});

Deno.test("await using stops a running pipeline", async () => {
  let held: Pipeline<number> | undefined;
  let reports = 0;
  {
    await using pipeline = new PipelineBuilder()
      .addSource(range(1000))
      .pipe(kernel<typeof k.square>(FIXTURE, "square"), { concurrency: 8 })
      .addSink(3)
      .build({ numThreads: 2, reportStatsInterval: 5, onStats: () => reports++ });
    held = pipeline;
    pipeline.start();
    await pipeline.getItem();
  }
  const stats = held!.stats();
  assert(stats.done, "disposed pipelines are done");
  const after = reports;
  await sleep(20);
  assert.equal(reports, after, "no more reports once disposed");
  await assert.rejects(held!.getItem(), PipelineEnded);
});

Deno.test("getItem({ timeout }) rejects with a PipelineTimeout naming it, and keeps the item", async () => {
  const { promise: go, resolve } = Promise.withResolvers<void>();
  await using pipeline = new PipelineBuilder()
    .addSource([1, 2])
    .pipe(async (x: number) => {
      if (x === 1) await go;
      return x;
    }, { outputOrder: "input" })
    .addSink()
    .build();
  await assert.rejects(pipeline.getItem({ timeout: 5 }), (e: unknown) => {
    assert(e instanceof PipelineTimeout);
    assert(!(e instanceof DOMException), "not the platform's TimeoutError");
    assert.equal(e.name, "PipelineTimeout");
    assert.equal(e.timeout, 5);
    assert.match(e.message, /5 ms/);
    return true;
  });
  resolve();
  assert.equal(await pipeline.getItem(), 1, "the late item is not lost");
  assert.equal(await pipeline.getItem({ timeout: 1000 }), 2);
  await assert.rejects(pipeline.getItem(), PipelineEnded);
});

Deno.test("build() lists every mistake at once", () => {
  assert.throws(
    () =>
      new PipelineBuilder()
        .pipe((x: number) => x, { concurrency: 0 })
        .addSink(0)
        .pipe((x: number) => x)
        .build({ numThreads: 0, reportStatsInterval: 10 }),
    (e: unknown) => {
      assert(e instanceof TypeError);
      const m = e.message;
      assert.match(m, /concurrency must be a positive integer/);
      assert.match(m, /bufferSize must be a positive integer/);
      assert.match(m, /nothing may follow the sink/);
      assert.match(m, /no source/);
      assert.match(m, /numThreads must be a positive integer up to 1024, got 0/);
      assert.match(m, /reportStatsInterval needs onStats/);
      return true;
    },
  );
  assert.throws(() => new PipelineBuilder().addSource([1]).build(), /no sink/);
  assert.throws(
    () => new PipelineBuilder().addSource(42 as never).addSink().build(),
    /source must be/,
  );
  assert.throws(
    () =>
      new PipelineBuilder().addSource([1]).pipe((x: number) => x, { executor: "workers" }).addSink()
        .build(),
    /only a kernel can run on executor "workers"/,
  );
  assert.throws(
    () => new PipelineBuilder().addSource([1]).pipe(5 as never).addSink().build(),
    /op must be a function or a kernel/,
  );
});

Deno.test("a pipeline's output streams as a request body to a Deno.serve server, in order", async () => {
  const received = Promise.withResolvers<string>();
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      received.resolve(await req.text());
      return new Response("ok");
    },
  );
  const lines = range(2000).map((i) => `line ${i}\n`);
  await using pipeline = new PipelineBuilder()
    .addSource(range(2000))
    .pipe(async (i: number) => {
      if (i % 100 === 0) await sleep(1);
      return `line ${i}\n`;
    }, { concurrency: 8, outputOrder: "input" })
    .addSink()
    .build();
  const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
    method: "POST",
    body: pipeline.readable.pipeThrough(new TextEncoderStream()),
    duplex: "half",
  } as RequestInit);
  assert.equal(await response.text(), "ok");
  assert.equal(await received.promise, lines.join(""));
});

Deno.test("a pipeline's output pipes into a file", async () => {
  const path = await Deno.makeTempFile();
  try {
    await using pipeline = new PipelineBuilder()
      .addSource(range(500))
      .pipe((i: number) => `${i * 2}\n`, { concurrency: 4, outputOrder: "input" })
      .addSink()
      .build();
    const file = await Deno.open(path, { write: true, truncate: true });
    await pipeline.readable.pipeThrough(new TextEncoderStream()).pipeTo(file.writable);
    assert.equal(await Deno.readTextFile(path), range(500).map((i) => `${i * 2}\n`).join(""));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("occupancy points at the bottleneck: the slow middle stage's input is full, its output empty", async () => {
  await using pipeline = new PipelineBuilder()
    .addSource(range(40))
    .pipe((x: number) => x, { name: "parse" })
    .pipe(async (x: number) => {
      await sleep(4);
      return x;
    }, { name: "slow" })
    .pipe((x: number) => x, { name: "format" })
    .addSink()
    .build();
  assert.equal((await Array.fromAsync(pipeline)).length, 40);
  const [parse, slow, format] = pipeline.stats().stages;
  // The slow stage's input buffer is the output buffer of the stage before it.
  assert(parse!.fullness > 0.8, `parse's output (slow's input) full ${parse!.fullness}`);
  assert(slow!.occupancy < 0.2, `slow's output mostly empty ${slow!.occupancy}`);
  assert(format!.occupancy < 0.2, `format's output mostly empty ${format!.occupancy}`);
  assert(slow!.busyMs > 40 * 3, "busy time adds up the task times");
  assert(slow!.latencyMs !== undefined && slow!.latencyMs.p50 >= 3);
});

Deno.test("SPDL's thread-pool example: a synchronous preprocess as a kernel, concurrency 3 on 3 threads", async () => {
  const cells = new Int32Array(new SharedArrayBuffer(8));
  const preprocess = kernel<typeof k.inside>(FIXTURE, "inside");
  await using pipeline = new PipelineBuilder()
    .addSource(range(9).map(() => ({ cells, ms: 40, until: 3 })))
    .pipe(preprocess, { concurrency: 3 })
    .addSink(3)
    .build({ numThreads: 3 });
  assert.equal((await Array.fromAsync(pipeline)).length, 9);
  assert.equal(cells[1], 3, "three preprocess calls ran at once, on three threads");
});

Deno.test("a trace recorder gets every task of every stage; the stats table names the stages", async () => {
  const trace = new TraceRecorder();
  const reports: string[] = [];
  await using pipeline = new PipelineBuilder()
    .addSource(range(10))
    .pipe(async (x: number) => {
      await sleep(1);
      return x;
    }, { name: "fetch", concurrency: 3 })
    .pipe((x: number) => x + 1, { name: "parse" })
    .addSink()
    .build({ trace, reportStatsInterval: 1000, onStats: (s) => reports.push(renderStats(s)) });
  assert.equal((await Array.fromAsync(pipeline)).length, 10);
  const events = JSON.parse(JSON.stringify(trace)).traceEvents as {
    ph: string;
    cat?: string;
    dur?: number;
  }[];
  const tasks = events.filter((e) => e.ph === "X");
  assert.equal(tasks.filter((e) => e.cat === "fetch").length, 10);
  assert.equal(tasks.filter((e) => e.cat === "parse").length, 10);
  assert(tasks.every((e) => typeof e.dur === "number" && e.dur >= 0));
  assert.equal(reports.length, 1, "one report at the end");
  for (const name of ["fetch", "parse", "sink"]) assert.match(reports[0]!, new RegExp(name));
});

Deno.test("a ReadableStream source: the lines of a file", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, range(300).map((i) => `row ${i}`).join("\n") + "\n");
    const file = await Deno.open(path);
    await using pipeline = new PipelineBuilder()
      .addSource(file.readable.pipeThrough(new TextDecoderStream()).pipeThrough(lines()))
      .pipe((line: string) => Number(line.slice(4)), { concurrency: 4, outputOrder: "input" })
      .aggregate(100)
      .addSink()
      .build();
    const batches = await Array.fromAsync(pipeline);
    assert.deepEqual(batches.flat(), range(300));
    assert.equal(batches.length, 3);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("stop() and dispose before start leave nothing running and end reads", async () => {
  let pulled = 0;
  function* counted() {
    for (let i = 0; i < 10; i++) {
      pulled++;
      yield i;
    }
  }
  const pipeline = new PipelineBuilder()
    .addSource(counted())
    .pipe(kernel<typeof k.square>(FIXTURE, "square"))
    .addSink()
    .build({ numThreads: 1, reportStatsInterval: 5, onStats: () => {} });
  await pipeline.stop();
  await pipeline[Symbol.asyncDispose]();
  await assert.rejects(pipeline.getItem(), PipelineEnded);
  assert.deepEqual(await Array.fromAsync(pipeline), []);
  assert.equal(pulled, 0, "the source was never read");
  assert.equal(pipeline.stats().done, true);
});

Deno.test("transfer: true moves a kernel stage's input buffers to the worker", async () => {
  const inputs = [new Float64Array([1, 2, 3]), new Float64Array([4, 5])];
  await using pipeline = new PipelineBuilder()
    .addSource(inputs)
    .pipe(kernel<typeof k.sum>(FIXTURE, "sum"), { transfer: true, outputOrder: "input" })
    .addSink()
    .build({ numThreads: 1 });
  assert.deepEqual(await Array.fromAsync(pipeline), [6, 9]);
  assert(inputs.every((x) => x.byteLength === 0), "the inputs' buffers moved");
  assert.throws(
    () =>
      new PipelineBuilder().addSource([1]).pipe((x: number) => x, { transfer: true }).addSink()
        .build(),
    /transfer applies to a kernel/,
  );
});

Deno.test("processPermissions grant the pipeline's processes what they may do", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "secret");
    const readText = kernel<(path: string) => string>(
      new URL("./fixtures/process_kernels.ts", import.meta.url),
      "readText",
    );
    const build = (permissions?: { read: string[] }) =>
      new PipelineBuilder().addSource([file]).pipe(readText, { executor: "processes" }).addSink()
        .build({
          numThreads: 1,
          ...(permissions === undefined ? {} : { processPermissions: permissions }),
        });
    {
      await using denied = build();
      await assert.rejects(Array.fromAsync(denied), /Requires read access/);
    }
    {
      await using allowed = build({ read: [file] });
      assert.deepEqual(await Array.fromAsync(allowed), ["secret"]);
    }
    assert.throws(
      () =>
        new PipelineBuilder().addSource([1]).addSink().build({
          processPermissions: { disk: true } as never,
        }),
      /unknown permission "disk"/,
    );
  } finally {
    await Deno.remove(file);
  }
});
