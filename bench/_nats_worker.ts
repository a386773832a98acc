// A worker process for bench/nats.ts: serves a pool until SIGTERM.
// deno run -A bench/_nats_worker.ts <servers> <pool> <size> <allowed folder>

import { serveNatsWorker } from "../src/nats/mod.ts";

const [servers, pool, size, allowed] = Deno.args;
const stop = new AbortController();
Deno.addSignalListener("SIGTERM", () => stop.abort());
const serving = serveNatsWorker({
  servers: servers!,
  pool: pool!,
  size: Number(size),
  allowModules: [allowed!],
  signal: stop.signal,
});
console.log("ready");
await serving;
