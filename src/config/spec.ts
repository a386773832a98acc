/**
 * The checked form of a YAML pipeline spec: plain data, every path resolved
 * against the spec file, every default filled in.
 *
 * @module
 */

/** Where a spec's items come from. */
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

/** A `map` stage: an export of a module, run on every item. */
export interface MapStageSpec {
  /** The kind of stage. */
  readonly kind: "map";
  /** The module's absolute URL. */
  readonly module: string;
  /** The export's name (`"default"` when the spec names none). */
  readonly exportName: string;
  /** Where the kernel runs. */
  readonly target: "main" | "workers" | "processes";
  /** Tasks in flight. */
  readonly concurrency: number;
  /** `"input"`: results in input order; `"completion"`: as they finish. */
  readonly order: "input" | "completion";
  /** The stage's name in statistics, traces and errors. */
  readonly name: string;
  /** Failed items the stage drops before the pipeline fails; the pipeline's when absent. */
  readonly maxFailures?: number;
  /** Move the input's buffers to the worker instead of copying them (`target: workers`). */
  readonly transfer: boolean;
}

/** A stage of a spec. */
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

/** Where a spec's items go. */
export type SinkSpec =
  | {
    /** `"jsonl"`: `JSON.stringify` of each item per line; `"text"`: `String(item)` per line. */
    readonly kind: "jsonl" | "text";
    /** The file's absolute path; the file is replaced. */
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

/** The `options` of a spec. */
export interface SpecOptions {
  /** The worker (and process) pool's size; the number of cores when absent. */
  readonly numThreads?: number;
  /** Failed items each stage drops before the pipeline fails. */
  readonly maxFailures: number;
  /** Finished items kept ready ahead of the sink. */
  readonly bufferSize: number;
  /** Whether to show progress; when absent, whether stderr is a terminal. */
  readonly progress?: boolean;
  /** How often (ms) to print the statistics table while it runs. */
  readonly statsInterval?: number;
  /** The absolute path of a Chrome trace file to write. */
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
