/**
 * NatsPool against ProcessPool, side by side in one run, on this machine:
 * (a) a trivial kernel through 2 local worker processes each; (b) a ~1 ms
 * CPU kernel on 1 worker process against 2 (the speedup, with the load);
 * (c) one item's round trip, p50 and p99. Starts its own `nats-server -js`
 * on a free loopback port with a temporary store, and stops it.
 *
 * @module
 */

import { kernel, ProcessPool, source } from "../mod.ts";
import { NatsPool } from "../src/nats/mod.ts";
import type { burn, increment } from "./fixtures/pool_kernels.ts";

const N = Number(Deno.env.get("BENCH_NATS_N") ?? 200_000);
const CPU_N = Number(Deno.env.get("BENCH_CPU_N") ?? 300);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const FIXTURES = new URL("./fixtures/", import.meta.url);
const MODULE = new URL("pool_kernels.ts", FIXTURES);
const incrementK = kernel<typeof increment>(MODULE, "increment");
const burnK = kernel<typeof burn>(MODULE, "burn");

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function waitForLine(stream: ReadableStream<Uint8Array>, line: string): Promise<void> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes(line)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`ended before "${line}": ${seen}`);
    seen += value;
  }
  // Keep draining, so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done);
  })();
}

async function startServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const store = await Deno.makeTempDir();
  const port = freePort();
  const child = new Deno.Command("nats-server", {
    args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", store],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await waitForLine(child.stderr, "Server is ready");
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(store, { recursive: true });
    },
  };
}

async function startWorkers(
  url: string,
  pool: string,
  count: number,
): Promise<() => Promise<void>> {
  const children: Deno.ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./_nats_worker.ts", import.meta.url).pathname,
        url,
        pool,
        "1",
        FIXTURES.pathname,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    await waitForLine(child.stdout, "ready");
    children.push(child);
  }
  return async () => {
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((c) => c.status));
  };
}

async function rate(n: number, run: () => Promise<void>): Promise<number> {
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    await run();
    best = Math.max(best, n / ((performance.now() - start) / 1000));
  }
  return best;
}

async function through(
  stage: () => TransformStream<number, number>,
  n: number,
  expected: (i: number) => number,
): Promise<void> {
  let i = 0;
  for await (const x of source(Array.from({ length: n }, (_, j) => j)).pipeThrough(stage())) {
    if (x !== expected(i)) throw new Error(`item ${i}: got ${x}, expected ${expected(i)}`);
    i++;
  }
  if (i !== n) throw new Error(`got ${i} items, expected ${n}`);
}

const server = await startServer();
try {
  const load = () => Deno.loadavg()[0]!.toFixed(2);
  console.log(
    `NatsPool against ProcessPool, best of ${ROUNDS} rounds, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
  );

  // (a) trivial kernel, 2 worker processes each.
  let natsRate: number;
  {
    const stopWorkers = await startWorkers(server.url, "bench_a", 2);
    try {
      await using pool = await NatsPool.connect({ servers: server.url, pool: "bench_a" });
      await through(() => pool.map(incrementK), 1000, (i) => i + 1); // warm up, measure the kernel
      natsRate = await rate(N, () => through(() => pool.map(incrementK), N, (i) => i + 1));
    } finally {
      await stopWorkers();
    }
  }
  let processRate: number;
  {
    await using pool = new ProcessPool({ size: 2 });
    await through(() => pool.map(incrementK), 1000, (i) => i + 1);
    processRate = await rate(N, () => through(() => pool.map(incrementK), N, (i) => i + 1));
  }
  console.log(`\n(a) ${N.toLocaleString("en")} items of x => x + 1, 2 worker processes each`);
  console.log(`${"pool".padEnd(32)} ${"items/s".padStart(10)}  vs ProcessPool`);
  console.log(
    `${"ProcessPool".padEnd(32)} ${
      Math.round(processRate).toLocaleString("en").padStart(10)
    }  1.00x`,
  );
  console.log(
    `${"NatsPool".padEnd(32)} ${Math.round(natsRate).toLocaleString("en").padStart(10)}  ${
      (natsRate / processRate).toFixed(2)
    }x`,
  );
  console.log(
    `NatsPool: ${
      Math.round(natsRate).toLocaleString("en")
    } items/s (target: at least 200,000 and 0.5x ProcessPool)`,
  );

  // (b) ~1 ms CPU kernel: 1 worker process against 2.
  const cpu: number[] = [];
  for (const workers of [1, 2]) {
    const pool = `bench_b${workers}`;
    const stopWorkers = await startWorkers(server.url, pool, workers);
    try {
      await using nats = await NatsPool.connect({ servers: server.url, pool });
      const expected = new Map<number, number>();
      const { burn: burnFn } = await import("./fixtures/pool_kernels.ts");
      for (let i = 0; i < CPU_N; i++) expected.set(i, burnFn(i));
      await through(() => nats.map(burnK), 20, (i) => expected.get(i)!);
      cpu.push(
        await rate(CPU_N, () => through(() => nats.map(burnK), CPU_N, (i) => expected.get(i)!)),
      );
    } finally {
      await stopWorkers();
    }
  }
  console.log(
    `\n(b) ${CPU_N} items of a CPU kernel (about ${
      (1000 / cpu[0]!).toFixed(1)
    } ms an item on one worker; load average ${load()} on ${navigator.hardwareConcurrency} cores)`,
  );
  console.log(
    `1 worker process: ${Math.round(cpu[0]!)} items/s; 2: ${Math.round(cpu[1]!)} items/s; speedup ${
      (cpu[1]! / cpu[0]!).toFixed(2)
    }x`,
  );

  // (c) one item's round trip.
  {
    const stopWorkers = await startWorkers(server.url, "bench_c", 1);
    try {
      await using pool = await NatsPool.connect({ servers: server.url, pool: "bench_c" });
      for (let i = 0; i < 50; i++) await pool.run(incrementK, i);
      const times: number[] = [];
      for (let i = 0; i < 500; i++) {
        const start = performance.now();
        await pool.run(incrementK, i);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
      console.log(
        `\n(c) one item's round trip through NatsPool: p50 ${at(0.5).toFixed(2)} ms, p99 ${
          at(0.99).toFixed(2)
        } ms`,
      );
    } finally {
      await stopWorkers();
    }
  }
} finally {
  await server.stop();
}
