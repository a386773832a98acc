// The keys of a spec and of buildFromSpec, each described once (see
// ../_internal/options.ts). A map stage's keys are the builder's `pipe`
// options (PIPE_OPTIONS) and the `options` section's are its build options
// (BUILD_OPTIONS), with the same names, checks, words and defaults; only
// what YAML cannot write is narrowed (a pool, a function), and the spec's
// own keys are added. Not exported from mod.ts.

import {
  isBoolean,
  isName,
  isOneOf,
  isPositiveInteger,
  type Schema,
  wordsOf,
} from "../_internal/options.ts";
import { BUILD_OPTIONS, EXECUTORS, PIPE_OPTIONS } from "../pipeline/options.ts";
import type { PipeOptions } from "../pipeline/types.ts";
import type { BuildFromSpecOptions } from "./build_from_spec.ts";
import type { SpecOptions } from "./spec.ts";

/** The keys of a `map` stage besides `map`: the builder's `pipe` options. */
export const MAP_STAGE_OPTIONS: Schema<PipeOptions> = {
  ...PIPE_OPTIONS,
  // A spec's stages are all kernels: the defaults said for them alone.
  concurrency: {
    ...PIPE_OPTIONS.concurrency,
    default: "the pool's adaptive default on workers or processes; 1 on main",
  },
  name: { ...PIPE_OPTIONS.name, default: "the export's name" },
  // A spec names an executor by kind, or a NATS pool by its servers and name
  // (`{ nats: ... }`, checked by _nats_executor.ts); a pool object is code's.
  executor: {
    ...PIPE_OPTIONS.executor,
    doc: 'Where the kernel runs: the pipeline\'s worker pool (`"workers"`), a pool of ' +
      '`numThreads` child processes (`"processes"`), the event loop (`"main"`), or the ' +
      "workers of a NATS pool on other machines (`{ nats: { servers, pool } }`).",
    expected: `${wordsOf(EXECUTORS)}, or { nats: { servers, pool } }`,
    test: isOneOf(EXECUTORS),
    default: '"workers"',
  },
  // A spec cannot write a function that picks the buffers.
  transfer: {
    ...PIPE_OPTIONS.transfer,
    doc: "On workers: move the input's buffers to the worker instead of copying them (an " +
      "`ArrayBuffer`, a typed array, or those directly inside an array or a plain object).",
    expected: "a boolean",
    test: isBoolean,
  },
};

/** The keys of a spec's `options` section: the builder's build options and the spec's own. */
export const SPEC_OPTIONS: Schema<SpecOptions> = {
  numThreads: BUILD_OPTIONS.numThreads,
  maxFailures: BUILD_OPTIONS.maxFailures,
  reportStatsInterval: {
    ...BUILD_OPTIONS.reportStatsInterval,
    doc: "How often (ms) the command line prints the statistics table while the pipeline runs.",
    default: "only at the end",
  },
  processPermissions: {
    ...BUILD_OPTIONS.processPermissions,
    doc: 'What the children of `executor: "processes"` stages may do; the paths of `read`, ' +
      "`write` and `ffi` are written relative to the spec file. Nothing by default.",
  },
  bufferSize: {
    doc: "How many finished items are kept ready ahead of the sink (`addSink`'s `bufferSize`).",
    expected: "a positive integer",
    test: isPositiveInteger(),
    default: "3",
    numeric: true,
  },
  progress: {
    doc: "Whether the command line shows a progress line on stderr.",
    expected: "a boolean",
    test: isBoolean,
    default: "when stderr is a terminal",
  },
  trace: {
    doc: "A Chrome trace file to write, to open in Perfetto (written relative to the spec file).",
    expected: "a path relative to the spec file",
    test: isName,
  },
};

/** `BuildFromSpecOptions` of `buildFromSpec()`. */
export const BUILD_FROM_SPEC_OPTIONS: Schema<BuildFromSpecOptions> = {
  trace: {
    doc: "A Chrome trace file to write at the end, instead of the spec's `options.trace`.",
    expected: "a path",
    test: isName,
  },
  onStats: {
    ...BUILD_OPTIONS.onStats,
    doc: "Receives the statistics every `reportStatsInterval` ms and at the end.",
  },
  reportStatsInterval: {
    ...BUILD_OPTIONS.reportStatsInterval,
    doc: "How often `onStats` is called, in ms.",
    default: "the spec's `options.reportStatsInterval`; without it, only at the end",
  },
  stdin: {
    doc: "What a `stdin` source reads.",
    expected: "a ReadableStream",
    test: (v) => v instanceof ReadableStream,
    default: "Deno.stdin.readable",
  },
  stdout: {
    doc: "What a `stdout` sink writes to (it is not closed).",
    expected: "a WritableStream",
    test: (v) => v instanceof WritableStream,
    default: "Deno.stdout.writable",
  },
};

/** `expected` as a spec writes it: YAML spells Infinity `.inf`. */
export function inYaml(expected: string): string {
  return expected.replaceAll("Infinity", ".inf");
}

/**
 * Why `server` is not a NATS server address (`nats://host:port`,
 * `tls://host:port` or `host:port`), or `undefined` when it is one. Specs
 * (`executor: { nats: { servers } }`) and `conveyor worker --servers` check
 * addresses with it.
 */
export function natsServerProblem(server: string): string | undefined {
  if (server === "" || /[\s,]/.test(server)) return "an address has no spaces or commas";
  const url = URL.parse(server.includes("://") ? server : `nats://${server}`);
  if (url === null) return "not a URL";
  if (url.protocol !== "nats:" && url.protocol !== "tls:") {
    return `the scheme is ${url.protocol.slice(0, -1)}, not nats or tls`;
  }
  if (url.hostname === "") return "it names no host";
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    return "an address has no path, query or fragment";
  }
  return undefined;
}
