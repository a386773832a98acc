/**
 * The command line: run a YAML pipeline spec, check one, or serve a NATS
 * pool as one of its workers on this machine.
 *
 * ```sh
 * deno run -A jsr:@conveyor/core/cli run spec.yaml
 * deno run -A src/cli.ts validate spec.yaml
 * NATS_TOKEN=... deno run -A src/cli.ts worker --servers nats://10.0.0.1:4222 --pool decode --allow-modules ./kernels
 * ```
 *
 * `run` checks the spec (every mistake is reported, and nothing runs if
 * there is one), runs it with a progress line on stderr, and prints the
 * statistics table and the bottleneck at the end. Exit codes: 0 success,
 * 1 the pipeline failed (the message names the stage and the item),
 * 2 a bad spec or bad usage, 130 interrupted. The spec format is described
 * in `src/config/mod.ts`.
 *
 * `run --dashboard [PORT]` serves the live dashboard of the run
 * (`serveDashboard`) on 127.0.0.1:PORT (default 8350; 0: a free port) while
 * it runs, and says where on stderr.
 *
 * A spec is code: `run` imports the modules it names and runs them with the
 * command line's permissions, reads the files it names and replaces the
 * files it writes. Run only specs you trust, as you would a script.
 *
 * Ctrl-C stops a run. A second Ctrl-C, or a run still going 3 s after the
 * first, ends the process at once with status 130, its child processes
 * killed, even while a kernel blocks the main thread (a watchdog on a
 * thread of its own listens for the signal).
 *
 * `worker` serves a NATS pool (`serveNatsWorker` of `@conveyor/core/nats`):
 * it runs the pool's tasks whose kernels lie under `--allow-modules`, with
 * this process's permissions, until SIGTERM or Ctrl-C, then drains (it
 * finishes the tasks it holds and exits 0). Credentials come from
 * `NATS_USER`/`NATS_PASS`/`NATS_TOKEN` (or `--user`/`--pass`/`--token`).
 * The NATS clients are loaded only by this command.
 *
 * @example The version
 * ```ts
 * import { main } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["--version"]), 0);
 * ```
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import denoJson from "../deno.json" with { type: "json" };
import { PipelineFailure } from "./pipeline/errors.ts";
import { bottleneck, type PipelineStats, renderStats } from "./pipeline/stats.ts";
import { buildFromSpec, type BuildFromSpecOptions } from "./config/build_from_spec.ts";
import { validateSpec } from "./config/parse_spec.ts";
import type { PipelineSpec, StageSpec } from "./config/spec.ts";
import { overwriteError } from "./config/same_file.ts";
import { DASHBOARD_PORT, openDashboard, parseDashboardFlag } from "./_cli_dashboard.ts";
import { GRACE_MS, Interrupts } from "./_cli_interrupt.ts";
import { Progress } from "./_cli_progress.ts";
import { parseWorkerArgs, serveWorker, WORKER_USAGE } from "./_cli_worker.ts";

const USAGE = `Usage: conveyor <command> SPEC [flags]
       conveyor worker --servers URL --pool NAME --allow-modules DIR... [--size N]

Commands:
  run SPEC        run the pipeline a YAML spec describes
  validate SPEC   check a spec and report every mistake; nothing runs
  worker          serve a NATS pool's tasks on this machine until SIGTERM or
                  Ctrl-C, then drain (see conveyor worker --help)

Flags:
  --progress, --no-progress   show or hide the progress line on stderr
                              (default: options.progress, else when stderr is a terminal)
  --trace FILE                write a Chrome trace file (instead of options.trace)
  --stats, --no-stats         print the statistics table at the end (default: on)
  --dashboard [PORT]          serve a live page of the run's statistics on
                              http://127.0.0.1:PORT/, this machine only
                              (default PORT: ${DASHBOARD_PORT}; 0: a free port)
  -h, --help                  show this help
  -V, --version               show the version

Ctrl-C stops a run; a second Ctrl-C, or a run still going ${GRACE_MS / 1000} s later, ends it
at once, even while a kernel blocks the main thread.

A spec's NATS executors without credentials use NATS_USER, NATS_PASS and
NATS_TOKEN from the environment.

Exit codes: 0 success, 1 the pipeline failed, 2 a bad spec or usage, 130 interrupted.`;

interface Args {
  command: "run" | "validate" | "help" | "version";
  spec?: string;
  progress?: boolean;
  stats?: boolean;
  trace?: string;
  dashboard?: number;
}

const encoder = new TextEncoder();

function write(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
}

const err = (text: string) => write(Deno.stderr, text);

function parseArgs(args: readonly string[]): Args | string {
  const positional: string[] = [];
  const out: Omit<Args, "command"> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-h" || arg === "--help") return { command: "help" };
    if (arg === "-V" || arg === "--version") return { command: "version" };
    if (arg === "--progress" || arg === "--no-progress") out.progress = arg === "--progress";
    else if (arg === "--stats" || arg === "--no-stats") out.stats = arg === "--stats";
    else if (arg.startsWith("--trace=")) out.trace = arg.slice("--trace=".length);
    else if (arg === "--trace") {
      const file = args[++i];
      if (file === undefined || file === "") return "--trace needs a FILE";
      out.trace = file;
    } else if (arg === "--dashboard" || arg.startsWith("--dashboard=")) {
      const flag = parseDashboardFlag(args, i);
      if (typeof flag === "string") return flag;
      out.dashboard = flag.port;
      i = flag.last;
    } else if (arg.startsWith("-") && arg !== "-") return `unknown flag ${arg}`;
    else positional.push(arg);
  }
  const [command, spec, ...rest] = positional;
  if (command === undefined) return "no command: expected run, validate or worker";
  if (command === "worker") return "worker's flags come after it: conveyor worker --servers ...";
  if (command !== "run" && command !== "validate") {
    return `unknown command ${JSON.stringify(command)}: expected run, validate or worker`;
  }
  if (spec === undefined) return `${command} needs a SPEC file`;
  if (rest.length > 0) return `unexpected argument ${JSON.stringify(rest[0])}`;
  if (out.trace === "") return "--trace needs a FILE";
  if (out.dashboard !== undefined && command !== "run") return "--dashboard is a flag of run";
  return { command, spec, ...out };
}

/**
 * Runs the command line with `args` (without the program's name) and
 * returns the exit code; `Deno.exit` is left to the caller. Everything it
 * started (workers, processes, timers, files) is closed when it returns.
 *
 * @param args The arguments, e.g. `["run", "spec.yaml", "--no-progress"]`.
 * @returns 0 success, 1 the pipeline failed, 2 a bad spec or usage, 130 interrupted.
 *
 * @example Bad usage
 * ```ts
 * import { main } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["validate"]), 2);
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  if (args[0] === "worker") return await worker(args.slice(1));
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    err(`error: ${parsed}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.command === "help") {
    write(Deno.stdout, `conveyor: run YAML pipeline specs, serve NATS pools\n\n${USAGE}\n`);
    return 0;
  }
  if (parsed.command === "version") {
    write(Deno.stdout, `${denoJson.name} ${denoJson.version}\n`);
    return 0;
  }
  let result: Awaited<ReturnType<typeof validateSpec>>;
  try {
    result = await validateSpec(parsed.spec!);
  } catch (error) {
    err(`error: cannot check ${parsed.spec}: ${message(error)}\n`);
    return 2;
  }
  if (!result.ok) {
    for (const error of result.errors) err(`${error.format()}\n`);
    const n = result.errors.length;
    err(`${n} mistake${n === 1 ? "" : "s"} in ${parsed.spec}; nothing ran\n`);
    return 2;
  }
  if (parsed.command === "validate") {
    write(Deno.stdout, `${parsed.spec}: ok (${describe(result.spec)})\n`);
    return 0;
  }
  return await run(result.spec, parsed);
}

async function worker(args: readonly string[]): Promise<number> {
  const parsed = parseWorkerArgs(args, (name) => Deno.env.get(name));
  if (typeof parsed === "string") {
    err(`error: ${parsed}\n\n${WORKER_USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    write(Deno.stdout, `${WORKER_USAGE}\n`);
    return 0;
  }
  return await serveWorker(parsed.options, err);
}

function describe(spec: PipelineSpec): string {
  const stages = spec.stages.map((s) =>
    s.kind === "map"
      ? `${s.name} on ${
        typeof s.executor === "string" ? s.executor : `NATS pool ${s.executor.nats.pool}`
      }`
      : s.kind === "aggregate"
      ? `aggregate ${s.size}`
      : s.kind
  );
  return `${spec.source.kind} -> ${stages.join(" -> ") || "no stages"} -> ${spec.sink.kind}`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Why `--trace FILE` cannot be written, checked before the run starts.
async function traceProblem(spec: PipelineSpec, file: string): Promise<string | undefined> {
  const path = resolve(file);
  const folder = await Deno.stat(dirname(path)).catch(() => undefined);
  if (folder === undefined) return `--trace ${file}: the folder ${dirname(path)} does not exist`;
  if (!folder.isDirectory) return `--trace ${file}: ${dirname(path)} is not a folder`;
  return await overwriteError(spec, "--trace", path);
}

// A spec's NATS executors that name no credentials get the environment's,
// so that secrets need not be written in the spec.
function withNatsCredentials(spec: PipelineSpec): PipelineSpec {
  if (!spec.stages.some((s) => s.kind === "map" && typeof s.executor !== "string")) return spec;
  const from: { user?: string; pass?: string; token?: string } = {};
  for (const key of ["user", "pass", "token"] as const) {
    const value = Deno.env.get(`NATS_${key.toUpperCase()}`);
    if (value !== undefined) from[key] = value;
  }
  if (Object.keys(from).length === 0) return spec;
  const stages = spec.stages.map((stage): StageSpec => {
    if (stage.kind !== "map" || typeof stage.executor === "string") return stage;
    const nats = stage.executor.nats;
    const named = nats.user !== undefined || nats.pass !== undefined || nats.token !== undefined;
    return named ? stage : { ...stage, executor: { nats: { ...nats, ...from } } };
  });
  return { ...spec, stages };
}

async function run(spec: PipelineSpec, args: Args): Promise<number> {
  if (args.trace !== undefined) {
    const problem = await traceProblem(spec, args.trace);
    if (problem !== undefined) {
      err(`error: ${problem}; nothing ran\n`);
      return 2;
    }
  }
  const terminal = Deno.stderr.isTerminal();
  const showProgress = args.progress ?? spec.options.progress ?? terminal;
  const view: { progress?: Progress | undefined } = {};
  const options: BuildFromSpecOptions = {
    onStats: (stats: PipelineStats) => {
      if (stats.done || spec.options.reportStatsInterval === undefined) return;
      view.progress?.clear();
      err(`${renderStats(stats)}\n`);
    },
  };
  if (args.trace !== undefined) options.trace = resolve(args.trace);
  let built: Awaited<ReturnType<typeof buildFromSpec>>;
  try {
    built = await buildFromSpec(withNatsCredentials(spec), options);
  } catch (error) {
    err(`error: ${message(error)}; nothing ran\n`);
    return 2;
  }
  await using job = built;
  const dashboard = args.dashboard === undefined
    ? undefined
    : await openDashboard(job.pipeline, args.dashboard, err);
  if (typeof dashboard === "string") {
    err(`error: ${dashboard}; nothing ran\n`);
    return 2;
  }
  await using _dashboard = dashboard;
  let interrupted = false;
  using _interrupts = await Interrupts.listen(() => {
    interrupted = true;
    void job.pipeline.stop();
  }, { terminal });
  using shown = showProgress
    ? new Progress(() => job.written, job.total, { terminal, write: err })
    : undefined;
  view.progress = shown;
  let failure: unknown;
  try {
    await job.run();
  } catch (error) {
    failure = error;
  }
  shown?.finish(failure !== undefined ? "failed" : interrupted ? "interrupted" : "done");
  if (args.stats ?? true) {
    const stats = job.pipeline.stats();
    err(`${renderStats(stats)}\n`);
    if (bottleneck(stats) === undefined) err("bottleneck: none stands out\n");
  }
  if (job.trace !== undefined) err(`trace: ${args.trace ?? spec.options.trace}\n`);
  if (failure !== undefined) {
    err(`error: ${message(failure)}\n`);
    if (failure instanceof PipelineFailure && failure.errors.length > 1) {
      for (const e of failure.errors.slice(0, 10)) err(`  - ${e.message}\n`);
    }
    return 1;
  }
  return interrupted ? 130 : 0;
}

if (import.meta.main) {
  // main() reports what it expects; anything else is still one line, not a stack trace.
  const code = await main(Deno.args).catch((error) => {
    err(`error: ${message(error)}\n`);
    return 1;
  });
  Deno.exit(code);
}
