// `conveyor worker`: serves a NATS pool (serveNatsWorker) until SIGTERM or
// Ctrl-C, then drains. The NATS module is imported by a computed specifier
// when the command runs, so the command line's graph (and the package's)
// does not load the NATS clients.

import { resolve } from "node:path";
import { closest } from "./_internal/closest.ts";
import { natsServerProblem } from "./config/options.ts";
import { NATS_WORKER_OPTIONS, type NatsWorkerOptions } from "./nats/options.ts";

/** The worker command's help. */
export const WORKER_USAGE =
  `Usage: conveyor worker --servers URL[,URL...] --pool NAME --allow-modules DIR... [flags]

Serves pool NAME: pulls its tasks from the NATS servers (nats-server -js), runs
them on SIZE threads, and stores their results. SIGTERM or Ctrl-C drains it: it
takes no more tasks, finishes the ones it holds, and exits 0; a second signal
ends it at once (what it held goes to other workers after ackWaitMs).

Flags:
  --servers URL[,URL...]     the NATS servers, nats://host:4222 (repeatable)
  --pool NAME                the pool's name, as its clients name it
  --allow-modules DIR...     the folders (or URL prefixes) whose kernels it runs;
                             a task of any other module fails its items
  --size N                   how many tasks run at once, each on a thread
                             (default: the number of cores)
  --name NAME                the worker's name in the pool's statistics
                             (default: host name and process id)
  --user USER, --pass PASS   credentials, for servers that ask for them
  --token TOKEN              a token, for servers that ask for one
  -h, --help                 show this help

Credentials are read from NATS_USER, NATS_PASS and NATS_TOKEN when the flags
are absent: prefer them, as flags are visible to every user in \`ps\`.

A kernel runs with this process's permissions: allow only folders you trust.
Its module must exist at the same path on every worker host.

Exit codes: 0 drained, 1 the worker failed, 2 bad usage, 130 stopped at once.`;

/** A parsed `worker` command line. */
export interface WorkerArgs {
  readonly help: boolean;
  readonly options: NatsWorkerOptions;
}

const FLAGS = [
  "--servers",
  "--pool",
  "--allow-modules",
  "--size",
  "--name",
  "--user",
  "--pass",
  "--token",
  "--help",
] as const;
type Flag = (typeof FLAGS)[number];

/**
 * The worker command's arguments (after `worker`), with credentials from
 * `env` when the flags are absent; a string says what is wrong.
 */
export function parseWorkerArgs(
  args: readonly string[],
  env: (name: string) => string | undefined,
): WorkerArgs | string {
  const servers: string[] = [];
  const modules: string[] = [];
  const given = new Map<Flag, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-h" || arg === "--help") return { help: true, options: {} as NatsWorkerOptions };
    if (!arg.startsWith("-")) return `unexpected argument ${JSON.stringify(arg)}`;
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (!(FLAGS as readonly string[]).includes(flag)) {
      const guess = closest(flag.replace(/^-+/, ""), FLAGS.map((f) => f.slice(2)));
      return `unknown flag ${flag}${guess === undefined ? "" : ` (did you mean --${guess}?)`}`;
    }
    if (flag === "--allow-modules") {
      const before = modules.length;
      if (eq !== -1) modules.push(arg.slice(eq + 1));
      else while (i + 1 < args.length && !args[i + 1]!.startsWith("-")) modules.push(args[++i]!);
      if (modules.length === before || modules.at(-1) === "") {
        return "--allow-modules needs at least one DIR";
      }
      continue;
    }
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    const isFlag = (v: string) => (FLAGS as readonly string[]).includes(v) || v === "-h";
    if (value === undefined || value === "" || (eq === -1 && isFlag(value))) {
      return `${flag} needs a value`;
    }
    if (flag === "--servers") servers.push(...value.split(","));
    else if (given.has(flag as Flag)) return `${flag} is given twice`;
    else given.set(flag as Flag, value);
  }
  if (servers.length === 0) return "--servers is required (nats://host:4222)";
  for (const server of servers) {
    const problem = natsServerProblem(server);
    if (problem !== undefined) return `--servers: ${JSON.stringify(server)}: ${problem}`;
  }
  const pool = given.get("--pool");
  if (pool === undefined) return "--pool is required";
  if (!NATS_WORKER_OPTIONS.pool.test(pool)) {
    return `--pool must be ${NATS_WORKER_OPTIONS.pool.expected}, got ${JSON.stringify(pool)}`;
  }
  if (modules.length === 0) return "--allow-modules is required: the folders whose kernels it runs";
  const allowModules: string[] = [];
  for (const module of modules) {
    if (/^[a-z][a-z0-9+.-]+:/i.test(module)) {
      allowModules.push(module); // a URL prefix
      continue;
    }
    const path = resolve(module);
    const info = statOrUndefined(path);
    if (info === undefined) return `--allow-modules: ${module} does not exist`;
    if (!info.isDirectory) return `--allow-modules: ${module} is not a folder`;
    allowModules.push(path);
  }
  const options: NatsWorkerOptions = { servers, pool, allowModules };
  const size = given.get("--size");
  if (size !== undefined) {
    const n = /^\d+$/.test(size) ? Number(size) : NaN;
    if (!NATS_WORKER_OPTIONS.size.test(n)) {
      return `--size must be ${NATS_WORKER_OPTIONS.size.expected}, got ${JSON.stringify(size)}`;
    }
    options.size = n;
  }
  const name = given.get("--name");
  if (name !== undefined) options.name = name;
  const user = given.get("--user") ?? env("NATS_USER");
  const pass = given.get("--pass") ?? env("NATS_PASS");
  const token = given.get("--token") ?? env("NATS_TOKEN");
  if ((user === undefined) !== (pass === undefined)) {
    return user === undefined
      ? "a password (--pass or NATS_PASS) needs a user (--user or NATS_USER)"
      : "a user (--user or NATS_USER) needs a password (--pass or NATS_PASS)";
  }
  if (user !== undefined) options.user = user;
  if (pass !== undefined) options.pass = pass;
  if (token !== undefined) options.token = token;
  return { help: false, options };
}

function statOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch {
    return undefined;
  }
}

/** What `src/nats/mod.ts` gives this command. */
interface NatsModule {
  serveNatsWorker(options: NatsWorkerOptions): Promise<void>;
}

const SIGNALS = ["SIGTERM", "SIGINT"] as const;

/**
 * Serves until the first SIGTERM or SIGINT, then drains and returns 0; a
 * second signal returns 130 at once (the caller exits; the tasks held go
 * back to the pool after their ack wait). Returns 1 when the worker fails.
 */
export async function serveWorker(
  options: NatsWorkerOptions,
  err: (text: string) => void,
): Promise<number> {
  const specifier = new URL("./nats/mod.ts", import.meta.url).href;
  const { serveNatsWorker } = await import(specifier) as NatsModule;
  const stop = new AbortController();
  const now = Promise.withResolvers<number>();
  const onSignal = (signal: string) => () => {
    if (stop.signal.aborted) {
      err(`conveyor worker: ${signal} again: stopping at once\n`);
      now.resolve(130);
      return;
    }
    err(
      `conveyor worker: ${signal}: draining (finishing the tasks it holds; ` +
        "a second signal stops at once)\n",
    );
    stop.abort();
  };
  const listeners = SIGNALS.map((signal) => [signal, onSignal(signal)] as const);
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  try {
    const servers = ([] as string[]).concat(options.servers).join(",");
    err(
      `conveyor worker: serving pool ${options.pool} on ${servers} ` +
        `(size ${options.size ?? "default"}; modules under ${options.allowModules.join(", ")})\n`,
    );
    const served = serveNatsWorker({ ...options, signal: stop.signal }).then(() => {
      err("conveyor worker: drained\n");
      return 0;
    });
    return await Promise.race([served, now.promise]);
  } catch (error) {
    err(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  }
}
