// Two "hosts" on this machine: two network namespaces on a bridge, a worker
// process in each, the NATS server and the NatsPool client in the root
// namespace on the bridge's address. One host's link is cut for 6 s while it
// runs a task: its tasks go to the other host after ackWaitMs, the run
// completes with every item exactly once and in order, and the cut host
// serves again once its link is back. Needs root and iproute2 (CI runs as
// root); without them the test fails saying so.

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { kernel } from "../mod.ts";
import { NatsPool } from "../src/nats/mod.ts";
import { type Child, type NatsServer, spawnDeno, startNats } from "./_nats.ts";
import { type Host, makeHosts, requireNetns } from "./_netns.ts";
import { sleep } from "./_util.ts";

const WORKER = fileURLToPath(new URL("./fixtures/nats_worker.ts", import.meta.url));
const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const slow = kernel<(input: { x: number; ms: number; log: string }) => Promise<number>>(
  new URL("./fixtures/nats_kernels.ts", import.meta.url),
  "slow",
);

/** Each item's time on a worker. */
const ITEM_MS = 5;
/** The item whose host is cut off while it runs, and its time. */
const LONG_AT = 200;
const LONG_MS = 4000;
/** How long the link stays down: the fault itself, not a wait for anything. */
const CUT_MS = 6000;
const ACK_WAIT_MS = 2000;
/** A guard against a hang: the run is aborted, with what it saw, after this long. */
const LIMIT_MS = 45_000;

/** The kernel's runs so far, `[item, worker process id]`, from the log it appends to. */
async function readRuns(log: string): Promise<[number, number][]> {
  const text = await Deno.readTextFile(log);
  return text.split("\n").filter(Boolean).map((line) => {
    const [x, pid] = line.split(" ").map(Number);
    return [x!, pid!];
  });
}

/**
 * Resolves with `found(runs)` once it is defined, checking the log each time
 * it changes (inotify); rejects with the signal's reason when it aborts.
 */
async function whenRun<T>(
  log: string,
  found: (runs: [number, number][]) => T | undefined,
  signal: AbortSignal,
): Promise<T> {
  const watcher = Deno.watchFs(log);
  let closed = false;
  const close = () => {
    if (!closed) watcher.close();
    closed = true;
  };
  signal.addEventListener("abort", close, { once: true });
  try {
    let hit = found(await readRuns(log));
    if (hit !== undefined) return hit;
    for await (const _ of watcher) {
      hit = found(await readRuns(log));
      if (hit !== undefined) return hit;
    }
    throw signal.reason;
  } finally {
    signal.removeEventListener("abort", close);
    close();
  }
}

function tail(text: string, lines = 30): string {
  return text.split("\n").slice(-lines).join("\n");
}

Deno.test("NatsPool: a worker host cut off for 6 s mid-run, every item comes out once, in order", async () => {
  requireNetns(); // not root, or no `ip`: fail here, saying so
  const log = await Deno.makeTempFile({ prefix: "conveyor_hosts_runs_" });
  const pool = `hosts_${Deno.pid}`;
  const stop = new AbortController();
  const workers: Child[] = [];
  let server: NatsServer | undefined;
  let phase = "starting";
  const results: number[] = [];
  let next = 0;
  const guard = setTimeout(() => {
    stop.abort(
      new Error(
        `the run did not finish in ${LIMIT_MS} ms (${phase}; ${results.length} results of ` +
          `${next} items)\n${
            workers.map((w, i) => `--- worker on host ${i}:\n${tail(w.log())}`).join("\n")
          }\n--- nats-server:\n${tail(server?.log() ?? "")}`,
      ),
    );
  }, LIMIT_MS);
  try {
    await using hosts = await makeHosts(2);
    server = await startNats({ host: hosts.address });
    await using _server = server;
    for (const host of hosts.hosts) {
      workers.push(spawnDeno([
        "run",
        "-A",
        ...["--config", CONFIG, WORKER],
        ...["--servers", server.url, "--pool", pool, "--size", "1"],
        ...["--allow-modules", FIXTURES],
      ], { netns: host.netns }));
    }
    try {
      await Promise.all(workers.map((w) => w.waitFor(/ready \S+/)));
      const byPid = new Map<number, [Host, Child]>(
        workers.map((w, i) => [w.pid, [hosts.hosts[i]!, w]]),
      );

      await using natsPool = await NatsPool.connect({
        servers: server.url,
        pool,
        ackWaitMs: ACK_WAIT_MS,
      });
      let feeding = true;
      const inputs = new ReadableStream<{ x: number; ms: number; log: string }>({
        pull(controller) {
          if (!feeding) return controller.close();
          controller.enqueue({ x: next, ms: next === LONG_AT ? LONG_MS : ITEM_MS, log });
          next++;
        },
      }, { highWaterMark: 0 });
      const out = inputs.pipeThrough(natsPool.map(slow, { signal: stop.signal }));
      phase = "running";
      const consumed = (async () => {
        for await (const value of out) results.push(value);
      })();

      // The fault: when a host runs the long item, cut its link for CUT_MS.
      let cutPid = 0;
      let resultsAtCut = 0;
      const fault = (async () => {
        cutPid = await whenRun(log, (runs) => runs.find(([x]) => x === LONG_AT)?.[1], stop.signal);
        const cut = byPid.get(cutPid);
        assert.ok(cut, `item ${LONG_AT} ran in process ${cutPid}, not one of the workers`);
        resultsAtCut = results.length;
        phase = `host ${cut[0].netns} cut off`;
        await cut[0].cut();
        try {
          await sleep(CUT_MS, stop.signal);
        } finally {
          await cut[0].heal();
        }
        // The cut host serves again: it runs an item submitted after its link came back.
        const healedAt = next;
        phase = `host ${cut[0].netns} back (items from ${healedAt} on)`;
        await whenRun(
          log,
          (runs) => runs.some(([x, pid]) => pid === cutPid && x >= healedAt) || undefined,
          stop.signal,
        );
        feeding = false;
        phase = "finishing";
      })();
      const failed = (error: unknown) => {
        stop.abort(error);
        throw error;
      };
      await Promise.all([consumed.catch(failed), fault.catch(failed)]).finally(() =>
        Promise.allSettled([consumed, fault])
      );

      assert.ok(resultsAtCut > 0, "the link was cut before any result arrived");
      assert.equal(results.length, next, "items lost or duplicated");
      for (let i = 0; i < next; i++) {
        if (results[i] !== i + 1) {
          assert.fail(
            `result ${i} is ${results[i]}, expected ${i + 1}: ` +
              `${JSON.stringify(results.slice(Math.max(0, i - 3), i + 4))} around it`,
          );
        }
      }
      const runs = await readRuns(log);
      const longRuns = new Set(runs.filter(([x]) => x === LONG_AT).map(([, pid]) => pid));
      assert.deepEqual(
        [...longRuns].sort(),
        workers.map((w) => w.pid).sort(),
        `item ${LONG_AT}, held by the cut host, ran again on the other host`,
      );
      const ran = new Set(runs.map(([x]) => x));
      for (let x = 0; x < next; x++) assert.ok(ran.has(x), `item ${x} never ran`);

      // Both workers drain on SIGTERM and exit.
      phase = "draining";
      await natsPool.close();
      for (const w of workers) w.kill("SIGTERM");
      for (const [i, w] of workers.entries()) {
        await w.waitFor(/drained \S+/);
        const status = await w.status;
        assert.equal(status.code, 0, `worker on host ${i} exited with ${status.code}:\n${w.log()}`);
      }
    } finally {
      for (const w of workers) await w[Symbol.asyncDispose]();
    }
  } finally {
    clearTimeout(guard);
    await Deno.remove(log);
  }
});
