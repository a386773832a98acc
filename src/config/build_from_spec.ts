/**
 * `buildFromSpec`: a checked spec to a `Pipeline` and the sink that drains it.
 *
 * @module
 */

import { checkOptions } from "../_internal/options.ts";
import { kernel } from "../exec/kernel.ts";
import type { Pool } from "../exec/pool_types.ts";
import type { NatsPoolOptions } from "../nats/options.ts";
import { PipelineBuilder } from "../pipeline/builder.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import type { PipelineStats } from "../pipeline/stats.ts";
import { TraceRecorder } from "../pipeline/trace.ts";
import type { BuildOptions, PipeOptions } from "../pipeline/types.ts";
import { drain, openSource } from "./_io.ts";
import { BUILD_FROM_SPEC_OPTIONS } from "./options.ts";
import { overwriteError, sameFile, writtenFiles } from "./same_file.ts";
import type { MapStageSpec, NatsExecutorSpec, PipelineSpec, StageSpec } from "./spec.ts";

/**
 * Options of `buildFromSpec`.
 *
 * @example Standard input and output of one's own
 * ```ts
 * import { buildFromSpec, type BuildFromSpecOptions, parseSpec } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const text = "source: { stdin: jsonl }\nstages:\n  - aggregate: 2\nsink: { stdout: jsonl }\n";
 * const result = await parseSpec(text, "spec.yaml");
 * assert(result.ok);
 * let out = "";
 * const decoder = new TextDecoder();
 * const options: BuildFromSpecOptions = {
 *   stdin: ReadableStream.from([new TextEncoder().encode("1\n2\n3\n")]),
 *   stdout: new WritableStream({ write: (chunk) => void (out += decoder.decode(chunk)) }),
 * };
 * await using run = await buildFromSpec(result.spec, options);
 * await run.run();
 * assert.equal(out, "[1,2]\n[3]\n");
 * ```
 */
export interface BuildFromSpecOptions {
  /** A Chrome trace file to write at the end, instead of the spec's `options.trace`. */
  trace?: string;
  /** Receives the statistics every `reportStatsInterval` ms and at the end. */
  onStats?: (stats: PipelineStats) => void;
  /**
   * How often `onStats` is called, in ms.
   *
   * @default {the spec's `options.reportStatsInterval`; without it, only at the end}
   */
  reportStatsInterval?: number;
  /**
   * What a `stdin` source reads.
   *
   * @default {Deno.stdin.readable}
   */
  stdin?: ReadableStream<Uint8Array>;
  /**
   * What a `stdout` sink writes to (it is not closed).
   *
   * @default {Deno.stdout.writable}
   */
  stdout?: WritableStream<Uint8Array>;
}

/**
 * A spec made into a pipeline: `run()` drains it into the sink. Dispose of it
 * (`await using`) to stop the pipeline and close its workers.
 *
 * @example Five items counted into the sink
 * ```ts
 * import { buildFromSpec, parseSpec, type SpecRun } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const text = "source: { range: 5 }\nstages: []\nsink: { stdout: text }\n";
 * const result = await parseSpec(text, "spec.yaml");
 * assert(result.ok);
 * const stdout = new WritableStream<Uint8Array>(); // discards what it gets
 * await using run: SpecRun = await buildFromSpec(result.spec, { stdout });
 * assert.deepEqual([run.total, run.written, run.trace], [5, 0, undefined]);
 * await run.run();
 * assert.equal(run.written, 5);
 * assert.equal(run.pipeline.stats().done, true);
 * ```
 */
export interface SpecRun extends AsyncDisposable {
  /** The pipeline (read it through `run()`, not directly). */
  readonly pipeline: Pipeline<unknown>;
  /** How many items should reach the sink, when the source's size is known. */
  readonly total: number | undefined;
  /** How many items the sink has written so far. */
  readonly written: number;
  /** The trace being recorded, if any. */
  readonly trace: TraceRecorder | undefined;
  /**
   * Runs the pipeline into the sink, then writes the trace file (also after a failure).
   *
   * @returns When the sink has every item.
   */
  run(): Promise<void>;
}

/**
 * Makes the pipeline a checked spec describes: the source opened (a glob is
 * listed now, files are opened on the first read), a kernel stage per `map`,
 * `aggregate` and `disaggregate` stages, the sink's buffer, and the options.
 * Running it imports the kernel modules the spec names and runs them with
 * this program's permissions, and writes the files it names: a spec is
 * code, to run only when you trust it. A stage on `executor: { nats }`
 * connects its `NatsPool` here (one per distinct mapping); the run closes
 * the pools when it ends, fails or is disposed.
 *
 * A file the run writes (the sink's, the trace) must not be one it reads:
 * the source's file, a file its glob lists, or the file that standard input
 * reads for a `stdin` source.
 *
 * @param spec A spec from `parseSpec` or `validateSpec`.
 * @param options A trace file, a statistics callback, standard streams.
 * @returns The run, not started.
 * @throws {TypeError} When the sink or trace file is one the run reads
 * (`parseSpec` reports it for the spec's own files), or for an unknown or
 * bad option (a `RangeError` for a number out of range).
 * @throws {Error} When a NATS pool cannot be reached (naming the stage, the
 * pool and the servers).
 *
 * @example Numbers, in batches of four, to a JSON-lines file
 * ```ts
 * import { buildFromSpec, parseSpec } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const text = "source: { range: { end: 10 } }\nstages:\n  - aggregate: 4\nsink: { jsonl: ./out.jsonl }\n";
 * const result = await parseSpec(text, `${dir}/spec.yaml`);
 * assert(result.ok);
 * await using run = await buildFromSpec(result.spec);
 * assert.equal(run.total, 3);
 * await run.run();
 * assert.equal(await Deno.readTextFile(`${dir}/out.jsonl`), "[0,1,2,3]\n[4,5,6,7]\n[8,9]\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function buildFromSpec(
  spec: PipelineSpec,
  options?: BuildFromSpecOptions,
): Promise<SpecRun> {
  const o = checkOptions("buildFromSpec", BUILD_FROM_SPEC_OPTIONS, options);
  if (o.reportStatsInterval !== undefined && o.onStats === undefined) {
    throw new TypeError("buildFromSpec: reportStatsInterval needs onStats to report to");
  }
  await refuseOverwrites(spec, o);
  const nats = await connectNats(spec.stages);
  try {
    return await build(spec, o, nats);
  } catch (error) {
    await nats.close();
    throw error;
  }
}

async function build(
  spec: PipelineSpec,
  o: Partial<BuildFromSpecOptions>,
  nats: NatsPools,
): Promise<SpecRun> {
  const { items, total } = await openSource(spec.source, o);
  let builder = new PipelineBuilder().addSource(items) as PipelineBuilder<unknown>;
  for (const stage of spec.stages) {
    if (stage.kind === "map") {
      // Without concurrency, a kernel on a pool keeps every worker busy.
      const pipe: PipeOptions = {
        outputOrder: stage.outputOrder,
        name: stage.name,
        executor: typeof stage.executor === "string" ? stage.executor : nats.pool(stage.executor),
      };
      if (stage.concurrency !== undefined) pipe.concurrency = stage.concurrency;
      if (stage.maxFailures !== undefined) pipe.maxFailures = stage.maxFailures;
      if (stage.transfer && stage.executor === "workers") pipe.transfer = true;
      builder = builder.pipe(kernel(stage.module, stage.exportName), pipe);
    } else if (stage.kind === "aggregate") {
      builder = builder.aggregate(stage.size, { dropLast: stage.dropLast });
    } else {
      builder = (builder as PipelineBuilder<unknown[]>).disaggregate();
    }
  }
  const tracePath = o.trace ?? spec.options.trace;
  const trace = tracePath === undefined ? undefined : new TraceRecorder();
  const build: BuildOptions = { maxFailures: spec.options.maxFailures };
  if (spec.options.numThreads !== undefined) build.numThreads = spec.options.numThreads;
  if (trace !== undefined) build.trace = trace;
  if (spec.options.processPermissions !== undefined) {
    build.processPermissions = spec.options.processPermissions;
  }
  if (o.onStats !== undefined) {
    build.onStats = o.onStats;
    const interval = o.reportStatsInterval ?? spec.options.reportStatsInterval;
    if (interval !== undefined) build.reportStatsInterval = interval;
  }
  const pipeline = builder.addSink(spec.options.bufferSize).build(build);
  let written = 0;
  return {
    pipeline,
    total: expected(total, spec.stages),
    get written() {
      return written;
    },
    trace,
    async run() {
      try {
        await drain(pipeline, spec.sink, o, () => written++);
      } finally {
        await nats.close();
        if (tracePath !== undefined) await Deno.writeTextFile(tracePath, JSON.stringify(trace));
      }
    },
    async [Symbol.asyncDispose]() {
      try {
        await pipeline.stop();
      } finally {
        await nats.close();
      }
    },
  };
}

/** The NATS pools of a run's stages: one per distinct `executor: { nats }` mapping. */
interface NatsPools {
  /** The pool a stage's mapping names. */
  pool(executor: NatsExecutorSpec): Pool;
  /** Closes every pool (withdrawing their queued tasks); idempotent. */
  close(): Promise<void>;
}

/** What this file uses of `src/nats/mod.ts`, loaded only when a spec names a NATS pool. */
interface NatsModule {
  NatsPool: { connect(options: NatsPoolOptions): Promise<Pool & { close(): Promise<void> }> };
}

// The same mapping (the same servers, pool, auth and settings) is one pool.
function natsKey(executor: NatsExecutorSpec): string {
  const o = executor.nats as Readonly<Record<string, unknown>>;
  return JSON.stringify(Object.keys(o).sort().map((key) => [key, o[key]]));
}

// Connects the pools of the stages that run on NATS. The module is imported
// by a computed specifier, so that the package's graph (and a spec without
// NATS) never loads the NATS clients.
async function connectNats(stages: readonly StageSpec[]): Promise<NatsPools> {
  const wanted = new Map<string, { at: number; executor: NatsExecutorSpec }>();
  stages.forEach((stage, at) => {
    const executor = (stage as Partial<MapStageSpec>).executor;
    if (stage.kind === "map" && typeof executor === "object") {
      const key = natsKey(executor);
      if (!wanted.has(key)) wanted.set(key, { at, executor });
    }
  });
  const pools = new Map<string, Pool & { close(): Promise<void> }>();
  let closing: Promise<void> | undefined;
  const nats: NatsPools = {
    pool: (executor) => pools.get(natsKey(executor))!,
    close() {
      closing ??= Promise.allSettled([...pools.values()].map((p) => p.close())).then(() => {});
      return closing;
    },
  };
  if (wanted.size === 0) return nats;
  const specifier = new URL("../nats/mod.ts", import.meta.url).href;
  const { NatsPool } = await import(specifier) as NatsModule;
  const connected = await Promise.allSettled(
    [...wanted].map(async ([key, { at, executor }]) => {
      const { servers, ...rest } = executor.nats;
      try {
        pools.set(key, await NatsPool.connect({ ...rest, servers: [...servers] }));
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new Error(
          `stages[${at}].executor.nats: cannot connect to pool "${executor.nats.pool}" on ` +
            `${servers.join(", ")}: ${why}`,
          { cause: error },
        );
      }
    }),
  );
  const failed = connected.find((r) => r.status === "rejected");
  if (failed !== undefined) {
    await nats.close();
    throw failed.reason;
  }
  return nats;
}

// The files a run writes, checked against what it reads: a spec made by hand
// has not been through parseSpec, and standard input can be any file.
async function refuseOverwrites(
  spec: PipelineSpec,
  o: Partial<BuildFromSpecOptions>,
): Promise<void> {
  const trace = o.trace === undefined
    ? undefined
    : { at: "options.trace (given to buildFromSpec)", path: o.trace };
  const stdin = spec.source.kind === "stdin" && o.stdin === undefined
    ? await Deno.stat("/dev/stdin").catch(() => undefined)
    : undefined;
  for (const { at, path } of writtenFiles(spec, trace)) {
    const why = await overwriteError(spec, at, path) ??
      (stdin?.isFile && await sameFile("/dev/stdin", path)
        ? `${at} ${path} is also standard input, which source.stdin reads: ` +
          "the run would destroy its own input"
        : undefined);
    if (why !== undefined) throw new TypeError(`Cannot build the spec's pipeline: ${why}`);
  }
}

// Items reaching the sink: batches shrink the count, and disaggregating a
// batch stage's output gives its input back.
function expected(total: number | undefined, stages: readonly StageSpec[]): number | undefined {
  const before: (number | undefined)[] = [];
  for (const stage of stages) {
    if (total === undefined) return undefined;
    if (stage.kind === "aggregate") {
      before.push(stage.dropLast ? Math.floor(total / stage.size) * stage.size : total);
      total = (stage.dropLast ? Math.floor : Math.ceil)(total / stage.size);
    } else if (stage.kind === "disaggregate") {
      total = before.pop();
    }
  }
  return total;
}
