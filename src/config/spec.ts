/**
 * The checked form of a YAML pipeline spec: plain data, every path resolved
 * against the spec file, every default filled in.
 *
 * @module
 */

import type { ProcessPermissions } from "../exec/process_pool.ts";
import type { NatsPoolOptions } from "../nats/options.ts";

/**
 * Where a spec's items come from.
 *
 * @example `range: 5`, with its defaults filled in
 * ```ts
 * import { parseSpec, type SourceSpec } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const text = "source: { range: 5 }\nstages: []\nsink: { stdout: jsonl }\n";
 * const result = await parseSpec(text, "spec.yaml");
 * assert(result.ok);
 * const source: SourceSpec = result.spec.source;
 * assert.deepEqual(source, { kind: "range", start: 0, end: 5, step: 1 });
 * ```
 */
export type SourceSpec =
  | {
    /** Numbers from `start` (inclusive) to `end` (exclusive) by `step`. */
    readonly kind: "range";
    /** The first number. */
    readonly start: number;
    /** The bound, not included. */
    readonly end: number;
    /** The difference between two numbers, not 0. */
    readonly step: number;
  }
  | {
    /** `"lines"`: each line of a text file; `"jsonl"`: one JSON value per line. */
    readonly kind: "lines" | "jsonl";
    /** The file's absolute path. */
    readonly path: string;
  }
  | {
    /** The paths of the files that match a glob, sorted. */
    readonly kind: "glob";
    /** The glob as an absolute path, with `/` separators. */
    readonly pattern: string;
  }
  | {
    /** Standard input, as lines of text or JSON values. */
    readonly kind: "stdin";
    /** How a line becomes an item. */
    readonly format: "lines" | "jsonl";
  };

/**
 * A `map` stage: an export of a module, run on every item. Its keys are the
 * builder's `pipe` options, with the same defaults.
 *
 * @example A map stage, resolved and with its defaults
 * ```ts
 * import { type MapStageSpec, parseSpec } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/k.ts`, "export const square = (x: number) => x * x;\n");
 * const text = "source: { range: 3 }\nstages:\n  - map: ./k.ts#square\nsink: { stdout: jsonl }\n";
 * const result = await parseSpec(text, `${dir}/spec.yaml`);
 * await Deno.remove(dir, { recursive: true });
 * assert(result.ok && result.spec.stages[0]?.kind === "map");
 * const stage: MapStageSpec = result.spec.stages[0];
 * assert.equal(stage.module, new URL(`file://${dir}/k.ts`).href);
 * assert.deepEqual([stage.exportName, stage.executor, stage.outputOrder], ["square", "workers", "completion"]);
 * assert.equal(stage.concurrency, undefined); // the pool's adaptive default
 * ```
 *
 * @example `concurrency: auto`: the stage picks it while it runs
 * ```ts
 * import { parseSpec } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/k.ts`, "export const square = (x: number) => x * x;\n");
 * const text = "source: { range: 3 }\nstages:\n  - map: ./k.ts#square\n    concurrency: auto\n" +
 *   "sink: { stdout: jsonl }\n";
 * const result = await parseSpec(text, `${dir}/spec.yaml`);
 * await Deno.remove(dir, { recursive: true });
 * assert(result.ok && result.spec.stages[0]?.kind === "map");
 * assert.equal(result.spec.stages[0].concurrency, "auto");
 * ```
 */
export interface MapStageSpec {
  /** The kind of stage. */
  readonly kind: "map";
  /** The module's absolute URL. */
  readonly module: string;
  /** The export's name (`"default"` when the spec names none). */
  readonly exportName: string;
  /**
   * Where the kernel runs: the pipeline's worker pool (`"workers"`), a pool of `numThreads` child
   * processes (`"processes"`), the event loop (`"main"`), or the workers of a NATS pool on other
   * machines (`{ nats: { servers, pool } }`).
   *
   * @default {"workers"}
   */
  readonly executor: "main" | "workers" | "processes" | NatsExecutorSpec;
  /**
   * How many tasks of the stage run at once. Unset, a kernel on a pool keeps every worker of that
   * pool busy. `auto` (`"auto"`): the stage picks the number while it runs, at most 256 (on a
   * pool, nor more than keeps every worker busy).
   *
   * @default {the pool's adaptive default on workers or processes; 1 on main}
   */
  readonly concurrency?: number | "auto";
  /**
   * `"completion"`: results go on as tasks finish; `"input"`: in input order.
   *
   * @default {"completion"}
   */
  readonly outputOrder: "completion" | "input";
  /**
   * The stage's name in statistics, traces and errors.
   *
   * @default {the export's name}
   */
  readonly name: string;
  /**
   * How many failed items the stage drops before the pipeline fails.
   *
   * @default {the pipeline's `maxFailures`}
   */
  readonly maxFailures?: number;
  /**
   * On workers: move the input's buffers to the worker instead of copying them (an `ArrayBuffer`, a
   * typed array, or those directly inside an array or a plain object).
   *
   * @default {false}
   */
  readonly transfer: boolean;
}

/**
 * A map stage's executor on other machines: `executor: { nats: { servers,
 * pool } }` names the NATS servers and the pool whose workers
 * (`conveyor worker`) run the kernel; its keys are `NatsPool.connect`'s
 * options. The run connects one `NatsPool` per distinct mapping and closes
 * it when the run ends.
 *
 * @example A stage on the workers of pool "decode"
 * ```ts
 * import { type NatsExecutorSpec, parseSpec } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/k.ts`, "export const square = (x: number) => x * x;\n");
 * const text = "source: { range: 3 }\nsink: { stdout: jsonl }\nstages:\n" +
 *   "  - map: ./k.ts#square\n    executor: { nats: { servers: nats://10.0.0.1:4222, pool: decode } }\n";
 * const result = await parseSpec(text, `${dir}/spec.yaml`);
 * await Deno.remove(dir, { recursive: true });
 * assert(result.ok && result.spec.stages[0]?.kind === "map");
 * const executor = result.spec.stages[0].executor as NatsExecutorSpec;
 * assert.deepEqual(executor, { nats: { servers: ["nats://10.0.0.1:4222"], pool: "decode" } });
 * ```
 */
export interface NatsExecutorSpec {
  /**
   * `NatsPool.connect`'s options: `servers` (always a list here), `pool`, and
   * optionally `name`, `user`, `pass`, `token`, `ackWaitMs`, `maxDeliver`, `taskTtlMs`.
   */
  readonly nats: Readonly<Omit<NatsPoolOptions, "servers">> & {
    readonly servers: readonly string[];
  };
}

/**
 * A stage of a spec.
 *
 * @example Batches of four, then the items again
 * ```ts
 * import { parseSpec, type StageSpec } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const text = "source: { range: 6 }\nsink: { stdout: jsonl }\n" +
 *   "stages:\n  - aggregate: 4\n  - disaggregate\n";
 * const result = await parseSpec(text, "spec.yaml");
 * assert(result.ok);
 * const stages: readonly StageSpec[] = result.spec.stages;
 * assert.deepEqual(stages, [
 *   { kind: "aggregate", size: 4, dropLast: false },
 *   { kind: "disaggregate" },
 * ]);
 * ```
 */
export type StageSpec =
  | MapStageSpec
  | {
    /** Gathers items into arrays of `size`. */
    readonly kind: "aggregate";
    /** The arrays' length. */
    readonly size: number;
    /** Whether a last, shorter array is dropped. */
    readonly dropLast: boolean;
  }
  | {
    /** Passes on the items of each array. */
    readonly kind: "disaggregate";
  };

/**
 * Where a spec's items go.
 *
 * @example A JSON-lines file, resolved against the spec's folder
 * ```ts
 * import { parseSpec, type SinkSpec } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const text = "source: { range: 3 }\nstages: []\nsink: { jsonl: ./out.jsonl }\n";
 * const result = await parseSpec(text, `${dir}/spec.yaml`);
 * await Deno.remove(dir, { recursive: true });
 * assert(result.ok);
 * const sink: SinkSpec = result.spec.sink;
 * assert.deepEqual(sink, { kind: "jsonl", path: `${dir}/out.jsonl` });
 * ```
 */
export type SinkSpec =
  | {
    /** `"jsonl"`: `JSON.stringify` of each item per line; `"text"`: `String(item)` per line. */
    readonly kind: "jsonl" | "text";
    /** The file's absolute path; the file is replaced when the first item reaches it. */
    readonly path: string;
  }
  | {
    /** Standard output. */
    readonly kind: "stdout";
    /** How an item becomes a line. */
    readonly format: "jsonl" | "text";
  }
  | {
    /** A `POST` whose body is the stream of JSON lines. */
    readonly kind: "url";
    /** The absolute `http:` or `https:` URL. */
    readonly url: string;
  };

/**
 * The `options` of a spec.
 *
 * @example Two threads, no failure limit, the default buffer
 * ```ts
 * import { parseSpec, type SpecOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const text = "source: { range: 3 }\nstages: []\nsink: { stdout: jsonl }\n" +
 *   "options: { numThreads: 2, maxFailures: .inf }\n";
 * const result = await parseSpec(text, "spec.yaml");
 * assert(result.ok);
 * const options: SpecOptions = result.spec.options;
 * assert.deepEqual(options, { numThreads: 2, maxFailures: Infinity, bufferSize: 3 });
 * ```
 */
export interface SpecOptions {
  /**
   * How many workers run kernel stages (the shared pool's size).
   *
   * @default {navigator.hardwareConcurrency}
   */
  readonly numThreads?: number;
  /**
   * How many failed items each stage drops before the pipeline fails with a `PipelineFailure`; a
   * stage's own `maxFailures` overrides it.
   *
   * @default {0}
   */
  readonly maxFailures: number;
  /**
   * How often (ms) the command line prints the statistics table while the pipeline runs.
   *
   * @default {only at the end}
   */
  readonly reportStatsInterval?: number;
  /**
   * What the children of `executor: "processes"` stages may do; the paths of `read`, `write` and
   * `ffi` are written relative to the spec file. Nothing by default.
   *
   * @default {{}}
   */
  readonly processPermissions?: ProcessPermissions;
  /**
   * How many finished items are kept ready ahead of the sink (`addSink`'s `bufferSize`).
   *
   * @default {3}
   */
  readonly bufferSize: number;
  /**
   * Whether the command line shows a progress line on stderr.
   *
   * @default {when stderr is a terminal}
   */
  readonly progress?: boolean;
  /** A Chrome trace file to write, to open in Perfetto (written relative to the spec file). */
  readonly trace?: string;
}

/**
 * A checked pipeline spec, as `parseSpec` gives it.
 *
 * @example A spec written by hand
 * ```ts
 * import type { PipelineSpec } from "./spec.ts";
 * import assert from "node:assert/strict";
 *
 * const spec: PipelineSpec = {
 *   file: "/tmp/spec.yaml",
 *   source: { kind: "range", start: 0, end: 10, step: 1 },
 *   stages: [{ kind: "aggregate", size: 5, dropLast: false }],
 *   sink: { kind: "stdout", format: "jsonl" },
 *   options: { maxFailures: 0, bufferSize: 3 },
 * };
 * assert.equal(spec.stages.length, 1);
 * ```
 */
export interface PipelineSpec {
  /** The spec file's path (or URL), as given. */
  readonly file: string;
  /** Where items come from. */
  readonly source: SourceSpec;
  /** The stages, in order. */
  readonly stages: readonly StageSpec[];
  /** Where items go. */
  readonly sink: SinkSpec;
  /** Pipeline-wide options. */
  readonly options: SpecOptions;
}
