/**
 * Scale-out: the same kernels on many machines, through NATS JetStream.
 * `NatsPool` is a pool with `WorkerPool`'s surface whose workers are
 * `serveNatsWorker` processes (or `cli.ts worker`) on any machine that
 * reaches the servers. This export alone loads the NATS clients.
 *
 * @example A pool and a worker in one program
 * ```ts ignore
 * import { kernel } from "@conveyor/core";
 * import { NatsPool, serveNatsWorker } from "@conveyor/core/nats";
 *
 * const servers = "nats://127.0.0.1:4222"; // nats-server -js
 * const stop = new AbortController();
 * const worker = serveNatsWorker({
 *   servers,
 *   pool: "demo",
 *   size: 2,
 *   allowModules: [new URL("./", import.meta.url)],
 *   signal: stop.signal,
 * });
 * const square = kernel<(x: number) => number>(new URL("./kernels.ts", import.meta.url), "square");
 * await using pool = await NatsPool.connect({ servers, pool: "demo" });
 * console.log(await pool.run(square, 7)); // 49
 * stop.abort();
 * await worker;
 * ```
 *
 * @module
 */

export { NatsPool } from "./nats_pool.ts";
export { serveNatsWorker } from "./worker.ts";
export type { NatsPoolOptions, NatsWorkerOptions } from "./options.ts";
export type {
  Kernel,
  KernelMeta,
  Pool,
  PoolMapOptions,
  PoolStats,
  RunOptions,
  Transfer,
  WorkerStats,
} from "../exec/mod.ts";
export type { MapOptions, StageStats, StageStream } from "../stream/mod.ts";
