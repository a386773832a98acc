/**
 * YAML pipeline specs: a source, stages and a sink written as YAML, checked
 * before anything runs, and built into a `Pipeline`. `conveyor run spec.yaml`
 * (`src/cli.ts`) runs one from the command line.
 *
 * A spec, with every key (relative paths are relative to the spec file):
 *
 * ```yaml
 * source:                        # exactly one of:
 *   range: { start: 0, end: 1000, step: 1 }   # numbers, end excluded (or `range: 1000`)
 *   # lines: ./input.txt         # each line of a text file
 *   # jsonl: ./input.jsonl       # one JSON value per line (blank lines skipped)
 *   # glob: "./images/*.jpg"     # absolute paths of matching files, sorted (* ? ** [ab] {a,b})
 *   # stdin: lines               # or jsonl
 * stages:                        # a list, in order (may be empty)
 *   - map: ./kernels.ts#square   # a module and its export (no #: the default export)
 *     executor: workers          # main | workers | processes (default workers), or a NATS pool:
 *                                #   { nats: { servers: [nats://10.0.0.1:4222], pool: decode } }
 *                                #   (also name, user, pass, token, ackWaitMs, maxDeliver, taskTtlMs)
 *     concurrency: 4             # tasks in flight, a positive integer or .inf, or auto (the
 *                                #   stage picks it while it runs, at most 256; default: on
 *                                #   workers or processes, the pool's adaptive default that
 *                                #   keeps every worker busy; on main, 1)
 *     outputOrder: input         # completion | input (default completion)
 *     name: square               # in statistics, traces and errors (default the export's name)
 *     maxFailures: 0             # failed items dropped before the pipeline fails, or .inf
 *                                #   (default options.maxFailures)
 *     transfer: false            # workers: move the input's buffers instead of copying (default false)
 *   - aggregate: 32              # arrays of 32 items
 *     dropLast: false            # drop a last, shorter array (default false)
 *   - disaggregate: true         # the items of each array (or just `- disaggregate`)
 * sink:                          # exactly one of:
 *   jsonl: ./out.jsonl           # JSON.stringify of each item, one per line (replaces the file)
 *   # text: ./out.txt            # String(item), one per line (replaces the file)
 *   # stdout: jsonl              # or text
 *   # url: http://127.0.0.1:8000/ingest   # a POST whose body streams the JSON lines
 * options:                       # all optional
 *   numThreads: 4                # the worker (and process) pool's size, up to 1024 (default: the number of cores)
 *   maxFailures: 0               # per stage; .inf for no limit (default 0)
 *   reportStatsInterval: 1000    # ms between statistics tables on stderr (default: only at the end)
 *   processPermissions:          # for `executor: processes` stages; none by default
 *     read: [./data]             # true, or a list (paths relative to the spec file)
 *     net: true                  # also write, env, run, ffi, sys, import
 *   bufferSize: 3                # finished items kept ready for the sink (default 3)
 *   progress: true               # a progress line on stderr (default: when stderr is a terminal)
 *   trace: ./trace.json          # write a Chrome trace file (open it in Perfetto)
 * ```
 *
 * A stage's keys are the builder's `pipe` options (`PipelineBuilder.pipe`),
 * with the same names, checks and defaults, and `options` holds its `build`
 * options by their names (`numThreads`, `maxFailures`,
 * `reportStatsInterval`, `processPermissions`), with the spec's own
 * `bufferSize` (the sink's, `addSink`'s), `progress` and `trace` (a path
 * here). As with the builder (and SPDL), a stage passes its results on as
 * they finish unless it says `outputOrder: input`. YAML writes Infinity as
 * `.inf`. A typo gets the suggestion it gets in code (`concurency`: "did
 * you mean concurrency?"), and older or other front-ends' words point to
 * these (`target`: executor, `order`: outputOrder, `statsInterval`:
 * reportStatsInterval, `permissions`: processPermissions).
 * A kernel is a module's export, a function of one item; on `workers` it
 * runs on the pipeline's pool of `numThreads` module workers, on `processes`
 * in `deno` subprocesses (with the permissions `options.processPermissions`
 * grants, none by default), on `main` on the event loop. With `executor:
 * { nats: { servers, pool } }` it runs on the workers of a NATS pool on
 * other machines (`conveyor worker`, see `@conveyor/core/nats`): the keys
 * are `NatsPool.connect`'s, the run connects one pool per distinct mapping
 * (loading the NATS clients only then) and closes it when the run ends.
 * Inputs and results travel as JSON, and the kernel's module must exist at
 * the same path on every worker host, under the worker's `--allow-modules`.
 *
 * **A spec is code.** Running one (`buildFromSpec`, `conveyor run`) imports
 * the modules its stages name and runs them with the permissions of the
 * program that runs it (all of them under `deno run -A`); the children of
 * `processes` stages get what the spec's own `options.processPermissions`
 * grants. A run reads the files its source names and creates or replaces
 * the files its sink and `trace` name. Run only specs you trust, as you
 * would a script.
 *
 * Checking a spec runs nothing, and nothing runs until the whole spec is
 * checked: `parseSpec` reports every mistake at once, each with its line and
 * column: unknown keys (with the likely name), wrong types, numbers out of
 * range, no or several kinds of source or sink, a missing `source`, `stages`
 * or `sink`, files and folders that do not exist, kernel modules without the
 * named export (read with `deno doc`, not imported), globs that mean nothing
 * (`[z-a]`, a `{` without `}`), lists and mappings nested more than 64 deep,
 * more than 1,000 stages (a longer chain of streams overflows the call
 * stack), and a sink or trace file that the run reads (the source's file,
 * also through a link, or a file that its glob lists): a sink never
 * destroys its own input.
 *
 * A file sink is created or replaced when the first item reaches it (or at
 * the end of a run without items), so a run that fails before then leaves
 * the file as it was. A `url` sink expects the server to read the whole
 * body before it answers: an answer that comes before the pipeline has
 * drained fails the run, saying how many items were sent.
 *
 * @example Check a spec, build it, run it
 * ```ts
 * import { buildFromSpec, parseSpec } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/kernels.ts`, "export const square = (x: number) => x * x;\n");
 * await Deno.writeTextFile(`${dir}/in.jsonl`, "1\n2\n3\n");
 * const spec = `
 * source:
 *   jsonl: ./in.jsonl
 * stages:
 *   - map: ./kernels.ts#square
 *     executor: main
 *     concurrency: 2
 *     outputOrder: input
 * sink:
 *   text: ./out.txt
 * `;
 * const result = await parseSpec(spec, `${dir}/spec.yaml`);
 * assert(result.ok);
 * assert.equal(result.spec.stages[0]!.kind, "map");
 * await using run = await buildFromSpec(result.spec);
 * await run.run();
 * assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "1\n4\n9\n");
 *
 * const typo = await parseSpec(spec.replace("#square", "#sqare"), `${dir}/spec.yaml`);
 * assert(!typo.ok);
 * assert.match(typo.errors[0]!.format(), /spec\.yaml:5:10: .*no export "sqare" \(did you mean "square"\?\)/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export { buildFromSpec, type BuildFromSpecOptions, type SpecRun } from "./build_from_spec.ts";
export { parseSpec, type SpecResult, validateSpec } from "./parse_spec.ts";
export type {
  MapStageSpec,
  NatsExecutorSpec,
  PipelineSpec,
  SinkSpec,
  SourceSpec,
  SpecOptions,
  StageSpec,
} from "./spec.ts";
export { SpecError } from "./spec_error.ts";
export type { NatsPoolOptions } from "../nats/options.ts";
