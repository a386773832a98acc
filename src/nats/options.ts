/**
 * The options of `NatsPool.connect` and `serveNatsWorker`, each described
 * once (see src/_internal/options.ts).
 *
 * @module
 */

import {
  durationSpec,
  isName,
  isPositiveInteger,
  NAME,
  type OptionSpec,
  type Schema,
  SIGNAL,
} from "../_internal/options.ts";
import { POOL_SIZE } from "../exec/options.ts";
import { POOL_NAME } from "./_protocol.ts";

/**
 * How `NatsPool.connect` reaches the servers and treats tasks.
 *
 * @example A pool on two servers, with a token
 * ```ts
 * import type { NatsPoolOptions } from "@conveyor/core/nats";
 *
 * const options: NatsPoolOptions = {
 *   servers: ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"],
 *   pool: "decode",
 *   token: Deno.env.get("NATS_TOKEN") ?? "",
 *   ackWaitMs: 10_000,
 * };
 * ```
 */
export interface NatsPoolOptions {
  /** The NATS servers: `nats://host:port`, one or several. */
  servers: string | string[];
  /** The pool's name, shared with its workers: letters, digits, `-` and `_`. */
  pool: string;
  /**
   * The pool's name in statistics and errors.
   *
   * @default {the pool's name}
   */
  name?: string;
  /** A user name, with `pass`, for servers that ask for one. */
  user?: string;
  /** The password of `user`. */
  pass?: string;
  /** A token, for servers that ask for one. */
  token?: string;
  /**
   * Milliseconds a worker may hold a task without reporting progress before
   * it goes to another worker (live workers report every third of it).
   *
   * @default {30000}
   */
  ackWaitMs?: number;
  /**
   * Deliveries of a task (its workers died) after which its items fail with
   * `WorkerCrashError`.
   *
   * @default {5}
   */
  maxDeliver?: number;
  /**
   * Milliseconds after which a task no worker started is dropped unrun (its
   * client is gone).
   *
   * @default {3600000}
   */
  taskTtlMs?: number;
}

/**
 * Options of `serveNatsWorker`.
 *
 * @example A worker of pool "decode" with 8 threads
 * ```ts
 * import type { NatsWorkerOptions } from "@conveyor/core/nats";
 *
 * const options: NatsWorkerOptions = {
 *   servers: "nats://10.0.0.1:4222",
 *   pool: "decode",
 *   size: 8,
 *   allowModules: [new URL("./kernels/", import.meta.url)],
 * };
 * ```
 */
export interface NatsWorkerOptions {
  /** The NATS servers: `nats://host:port`, one or several. */
  servers: string | string[];
  /** The pool to serve: letters, digits, `-` and `_`. */
  pool: string;
  /**
   * How many tasks run at once, each on a thread of a local `WorkerPool`.
   *
   * @default {navigator.hardwareConcurrency}
   */
  size?: number;
  /**
   * The folders (or URL prefixes) whose modules this worker runs; a task of
   * any other module fails its items with an error naming both.
   */
  allowModules: (string | URL)[];
  /** Aborting it drains the worker: tasks it holds finish or go back, then it returns. */
  signal?: AbortSignal;
  /**
   * The worker's name in the pool's statistics.
   *
   * @default {host name and process id}
   */
  name?: string;
  /** A user name, with `pass`, for servers that ask for one. */
  user?: string;
  /** The password of `user`. */
  pass?: string;
  /** A token, for servers that ask for one. */
  token?: string;
}

const SERVERS: OptionSpec = {
  doc: "The NATS servers: `nats://host:port`, one or several.",
  expected: "a server URL or a non-empty list of them",
  test: (v) => isName(v) || (Array.isArray(v) && v.length > 0 && v.every((s) => isName(s))),
};

const POOL: OptionSpec = {
  doc: "The pool's name, shared with its workers: letters, digits, `-` and `_`.",
  expected: "1 to 64 letters, digits, - or _",
  test: (v) => typeof v === "string" && POOL_NAME.test(v),
};

const SECRET = (doc: string): OptionSpec => ({
  doc,
  expected: "a string",
  test: (v) => typeof v === "string",
});

// A duration that travels in a task (JSON has no Infinity) or sets the
// consumer's ack wait: finite.
function finiteDuration(doc: string, fallback: string): OptionSpec {
  const spec = durationSpec(doc, "> 0", fallback);
  return {
    ...spec,
    expected: spec.expected.replace(", or Infinity", ""),
    test: (v) => Number.isFinite(v) && spec.test(v),
  };
}

/** `NatsPoolOptions`. */
export const NATS_POOL_OPTIONS: Schema<NatsPoolOptions> = {
  servers: SERVERS,
  pool: POOL,
  name: { ...NAME, doc: "The pool's name in statistics and errors.", default: "the pool's name" },
  user: SECRET("A user name, with `pass`, for servers that ask for one."),
  pass: SECRET("The password of `user`."),
  token: SECRET("A token, for servers that ask for one."),
  ackWaitMs: finiteDuration(
    "Milliseconds a worker may hold a task without reporting progress before it goes to " +
      "another worker (live workers report every third of it).",
    "30000",
  ),
  maxDeliver: {
    doc: "Deliveries of a task (its workers died) after which its items fail with " +
      "`WorkerCrashError`.",
    expected: "a positive integer",
    test: isPositiveInteger(),
    default: "5",
    numeric: true,
  },
  taskTtlMs: finiteDuration(
    "Milliseconds after which a task no worker started is dropped unrun (its client is gone).",
    "3600000",
  ),
};

/** `NatsWorkerOptions`. */
export const NATS_WORKER_OPTIONS: Schema<NatsWorkerOptions> = {
  servers: SERVERS,
  pool: { ...POOL, doc: "The pool to serve: letters, digits, `-` and `_`." },
  size: {
    ...POOL_SIZE,
    doc: "How many tasks run at once, each on a thread of a local `WorkerPool`.",
  },
  allowModules: {
    doc: "The folders (or URL prefixes) whose modules this worker runs; a task of any other " +
      "module fails its items with an error naming both.",
    expected: "a non-empty list of paths or URLs",
    test: (v) =>
      Array.isArray(v) && v.length > 0 &&
      v.every((m) => m instanceof URL || isName(m)),
  },
  signal: {
    ...SIGNAL,
    doc: "Aborting it drains the worker: tasks it holds finish or go back, then it returns.",
  },
  name: {
    ...NAME,
    doc: "The worker's name in the pool's statistics.",
    default: "host name and process id",
  },
  user: SECRET("A user name, with `pass`, for servers that ask for one."),
  pass: SECRET("The password of `user`."),
  token: SECRET("A token, for servers that ask for one."),
};
