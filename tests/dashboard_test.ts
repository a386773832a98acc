// The dashboard's server: `serveDashboard` answers `/` with a page that loads
// nothing from elsewhere and `/stats` with the pipeline's statistics as they
// change; it listens on 127.0.0.1 unless told otherwise, and `close()` (or
// its signal) stops it. The command line's `run --dashboard` serves the same
// while a spec runs. Progress is the test's own doing (items let out of a
// gate, lines written to the command line's stdin): no step waits on time.
// The page itself, in a browser: tests/dashboard_browser_test.ts.

import assert from "node:assert/strict";
import {
  type DashboardStats,
  kernel,
  PipelineBuilder,
  PipelineEnded,
  type PipelineStats,
  serveDashboard,
  WorkerPool,
} from "../mod.ts";
import { CLI, inFolder } from "./_cli.ts";

const square = kernel<(x: number) => number>(
  new URL("./fixtures/kernels.ts", import.meta.url),
  "square",
);

/** Numbers 0, 1, 2, ... let out by the test, `n` at a time; `end()` ends them. */
class Gate {
  #allowed = 0;
  #ended = false;
  #wake = Promise.withResolvers<void>();

  release(n: number): void {
    this.#allowed += n;
    this.#wake.resolve();
  }

  end(): void {
    this.#ended = true;
    this.#wake.resolve();
  }

  async *items(): AsyncGenerator<number> {
    for (let i = 0;; i++) {
      while (i >= this.#allowed) {
        if (this.#ended) return;
        await this.#wake.promise;
        this.#wake = Promise.withResolvers<void>();
      }
      yield i;
    }
  }
}

const NO_STATS: PipelineStats = { elapsedMs: 0, done: false, stages: [] };

async function getStats(url: string): Promise<DashboardStats> {
  const response = await fetch(new URL("stats", url));
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^application\/json/);
  return await response.json();
}

/** The answer to a raw HTTP/1.1 request with this `Host` header. */
async function rawGet(port: number, host: string, path = "/stats"): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const request = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
  await conn.write(new TextEncoder().encode(request));
  return await new Response(conn.readable).text();
}

/** An IPv4 address of this machine that is not a loopback one. */
function outsideAddress(): string | undefined {
  return Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    ?.address;
}

Deno.test("serveDashboard: /stats lists every stage and pool, and itemsOut rises between two polls as items flow", async () => {
  await using pool = new WorkerPool({ size: 2, name: "given" });
  const gate = new Gate();
  await using pipeline = new PipelineBuilder()
    .addSource(gate.items())
    .pipe(square, { name: "square", executor: pool, outputOrder: "input" })
    .pipe((x: number) => x + 1, { name: "plus one" })
    .pipe(square, { name: "square again", executor: "workers", outputOrder: "input" })
    .addSink(2)
    .build({ numThreads: 1 });
  await using dashboard = await serveDashboard(pipeline);

  const unstarted = await getStats(dashboard.url);
  assert.deepEqual(unstarted, { elapsedMs: 0, done: false, stages: [], pools: [] });

  const names = ["square", "plus one", "square again", "sink"];
  const outs = (stats: DashboardStats) => stats.stages.map((s) => s.itemsOut);
  gate.release(5);
  for (let i = 0; i < 5; i++) assert.equal(await pipeline.getItem(), (i * i + 1) ** 2);
  const first = await getStats(dashboard.url);
  assert.deepEqual(first.stages.map((s) => s.name), names);
  assert.deepEqual(outs(first), [5, 5, 5, 5]);
  assert.equal(first.done, false);
  assert.ok(first.elapsedMs > 0);
  assert.ok(first.bottleneck === undefined || names.includes(first.bottleneck));
  for (const stage of first.stages) {
    for (const key of ["inFlight", "concurrency", "occupancy", "fullness", "busyMs"] as const) {
      assert.equal(typeof stage[key], "number", `${stage.name}.${key}`);
    }
  }
  // The pool given as an executor and the pool the pipeline made, with their workers.
  assert.deepEqual(first.pools.map((p) => [p.name, p.size, p.workers.length]), [
    ["given", 2, 2],
    ["pipeline-workers", 1, 1],
  ]);
  assert.equal(first.pools[0]!.tasksDone, 5);
  for (const worker of first.pools.flatMap((p) => p.workers)) {
    assert.equal(typeof worker.id, "number");
    assert.equal(worker.queueLength, 0, "every item is out: no worker holds a task");
  }

  gate.release(5);
  for (let i = 5; i < 10; i++) assert.equal(await pipeline.getItem(), (i * i + 1) ** 2);
  const second = await getStats(dashboard.url);
  assert.deepEqual(outs(second), [10, 10, 10, 10]);
  assert.ok(second.elapsedMs > first.elapsedMs);
  assert.equal(second.pools[0]!.tasksDone, 10);

  gate.end();
  await assert.rejects(pipeline.getItem(), PipelineEnded);
  const last = await getStats(dashboard.url);
  assert.equal(last.done, true);
  assert.deepEqual(outs(last), [10, 10, 10, 10]);
});

Deno.test("serveDashboard: / is one HTML page with its CSS and JS inline that loads nothing from elsewhere", async () => {
  await using dashboard = await serveDashboard({ stats: () => NO_STATS });
  const response = await fetch(dashboard.url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^text\/html; charset=utf-8$/);
  const csp = response.headers.get("content-security-policy")!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'self'/);
  const page = await response.text();
  assert.match(page, /^<!doctype html>/);
  assert.match(page, /<style>[^]+<\/style>/);
  assert.match(page, /<script>[^]+fetch\("stats"[^]+<\/script>/);
  assert.match(page, /<span id="status">/);
  assert.doesNotMatch(page, /https?:|\/\/[a-z0-9.-]+\//i, "no address of any other site");
  assert.doesNotMatch(page, /<script[^>]+src=|<link[^>]+stylesheet|@import|url\(/i);
  for (const [, value] of page.matchAll(/(?:src|href)\s*=\s*"([^"]*)"/g)) {
    assert.match(value!, /^data:/, `a src or href that loads something: ${value}`);
  }
  // The page's script is JavaScript a browser parses.
  new Function(page.split("<script>")[1]!.split("</script>")[0]!);

  const head = await fetch(dashboard.url, { method: "HEAD" });
  assert.equal(head.status, 200);
  await head.body?.cancel();
  const missing = await fetch(new URL("nothing-here", dashboard.url));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const post = await fetch(new URL("stats", dashboard.url), { method: "POST", body: "{}" });
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

Deno.test("serveDashboard listens on 127.0.0.1 by default: not on the machine's other addresses", async () => {
  await using dashboard = await serveDashboard({ stats: () => NO_STATS });
  assert.equal(dashboard.hostname, "127.0.0.1");
  assert.ok(dashboard.port > 0);
  assert.equal(dashboard.url, `http://127.0.0.1:${dashboard.port}/`);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: dashboard.port });
  conn.close();
  const outside = outsideAddress();
  if (outside === undefined) return; // only a loopback interface here: nothing more to tell
  await assert.rejects(
    Deno.connect({ hostname: outside, port: dashboard.port }),
    Deno.errors.ConnectionRefused,
  );
  // The check can tell: asked to, the dashboard does listen on every address.
  await using everywhere = await serveDashboard({ stats: () => NO_STATS }, {
    hostname: "0.0.0.0",
  });
  const reached = await Deno.connect({ hostname: outside, port: everywhere.port });
  reached.close();
});

Deno.test("serveDashboard on 127.0.0.1 refuses a request that names another host (DNS rebinding)", async () => {
  await using dashboard = await serveDashboard({ stats: () => NO_STATS });
  const port = dashboard.port;
  assert.match(await rawGet(port, `attacker.example:${port}`), /^HTTP\/1\.1 403 /);
  assert.match(await rawGet(port, `127.0.0.1:${port + 1}`), /^HTTP\/1\.1 403 /);
  const ok = await rawGet(port, `localhost:${port}`);
  assert.match(ok, /^HTTP\/1\.1 200 /);
  assert.match(ok, /"stages":\[\]/);
});

Deno.test("serveDashboard: close() stops the server and frees the port; it is idempotent", async () => {
  const dashboard = await serveDashboard({ stats: () => NO_STATS });
  const stats = await getStats(dashboard.url);
  assert.deepEqual(stats, { elapsedMs: 0, done: false, stages: [], pools: [] });
  await Promise.all([dashboard.close(), dashboard.close()]);
  await dashboard.close();
  await assert.rejects(fetch(dashboard.url), TypeError);
  // The port is free again: a dashboard can take it.
  await using again = await serveDashboard({ stats: () => NO_STATS }, { port: dashboard.port });
  assert.equal(again.port, dashboard.port);
  // Taken, it is an error.
  await assert.rejects(
    serveDashboard({ stats: () => NO_STATS }, { port: again.port }),
    Deno.errors.AddrInUse,
  );
});

Deno.test("serveDashboard: aborting its signal closes it; an aborted signal rejects with its reason", async () => {
  const controller = new AbortController();
  const dashboard = await serveDashboard({ stats: () => NO_STATS }, {
    signal: controller.signal,
  });
  await getStats(dashboard.url);
  controller.abort();
  await dashboard.close(); // the close the abort began
  await assert.rejects(fetch(dashboard.url), TypeError);

  const reason = new Error("not now");
  await assert.rejects(
    serveDashboard({ stats: () => NO_STATS }, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
});

Deno.test("serveDashboard: a stats() that throws is a 500, and the server goes on", async () => {
  let fail = true;
  await using dashboard = await serveDashboard({
    stats: () => {
      if (fail) throw new Error("broken");
      return NO_STATS;
    },
  });
  const response = await fetch(new URL("stats", dashboard.url));
  assert.equal(response.status, 500);
  await response.body?.cancel();
  fail = false;
  assert.equal((await getStats(dashboard.url)).done, false);
});

Deno.test("serveDashboard: an option typo or a bad value is an error naming it", async () => {
  const source = { stats: () => NO_STATS };
  await assert.rejects(
    serveDashboard(source, { prot: 0 } as never),
    (e) =>
      e instanceof TypeError &&
      /^serveDashboard: unknown option "prot" \(did you mean port\?\)/.test(e.message),
  );
  await assert.rejects(
    serveDashboard(source, { hostnme: "127.0.0.1" } as never),
    /did you mean hostname\?/,
  );
  await assert.rejects(
    serveDashboard(source, { port: 70000 }),
    (e) =>
      e instanceof RangeError &&
      /port must be an integer from 0 to 65535, got 70000/.test(e.message),
  );
  await assert.rejects(serveDashboard(source, { port: "80" as never }), TypeError);
  await assert.rejects(serveDashboard(source, { hostname: "" }), TypeError);
  await assert.rejects(
    serveDashboard({} as never),
    (e) => e instanceof TypeError && /source must have a stats\(\) method/.test(e.message),
  );
});

// ---- The command line.

const STDIN_SPEC = `source:
  stdin: jsonl
stages:
  - map: ./cli_kernels.ts#double
    executor: workers
    outputOrder: input
sink:
  stdout: jsonl
options:
  numThreads: 2
`;

/** The lines of a byte stream, as they come. */
async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest !== "") yield rest;
}

/** Reads lines until one matches, keeping every line read in `seen`. */
async function lineMatching(
  lines: AsyncGenerator<string>,
  pattern: RegExp,
  seen: string[],
): Promise<RegExpMatchArray> {
  for (;;) {
    const next = await lines.next();
    if (next.done) throw new Error(`no line matched ${pattern}; got:\n${seen.join("\n")}`);
    seen.push(next.value);
    const match = next.value.match(pattern);
    if (match !== null) return match;
  }
}

Deno.test("cli run --dashboard 0 says where the dashboard is and serves /stats while the run goes", async () => {
  await inFolder({ "spec.yaml": STDIN_SPEC }, async (dir) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", CLI, "run", "spec.yaml", "--dashboard", "0", "--no-progress"],
      cwd: dir,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdin = child.stdin.getWriter();
    const out = linesOf(child.stdout);
    const err = linesOf(child.stderr);
    const said: string[] = [];
    const send = (xs: number[]) => stdin.write(new TextEncoder().encode(xs.join("\n") + "\n"));
    let ended = false;
    try {
      const [, url, port] = await lineMatching(
        err,
        /^dashboard on (http:\/\/127\.0\.0\.1:(\d+)\/) \(only this machine: 127\.0\.0\.1\)$/,
        said,
      );
      assert.notEqual(Number(port), 0);

      await send([1, 2, 3]);
      for (const x of [1, 2, 3]) assert.equal((await out.next()).value, String(2 * x));
      const first = await getStats(url!);
      assert.equal(first.done, false);
      assert.deepEqual(first.stages.map((s) => [s.name, s.itemsOut]), [["double", 3], [
        "sink",
        3,
      ]]);
      assert.deepEqual(first.pools.map((p) => [p.name, p.workers.length]), [
        ["pipeline-workers", 2],
      ]);

      await send([4, 5, 6, 7]);
      for (const x of [4, 5, 6, 7]) assert.equal((await out.next()).value, String(2 * x));
      const second = await getStats(url!);
      assert.deepEqual(second.stages.map((s) => s.itemsOut), [7, 7]);
      assert.ok(second.elapsedMs > first.elapsedMs);

      await stdin.close();
      ended = true;
      for await (const line of out) assert.fail(`an item too many: ${line}`);
      for await (const line of err) said.push(line);
      const status = await child.status;
      assert.equal(status.code, 0, said.join("\n"));
      assert.match(said.join("\n"), /double\s+pipe\s+7\s+7/);
      // The run is over: so is its dashboard.
      await assert.rejects(fetch(url!), TypeError);
    } finally {
      if (!ended) {
        child.kill();
        await stdin.close().catch(() => {});
        for await (const _ of out);
        for await (const _ of err);
        await child.status;
      }
    }
  });
});

Deno.test("cli run --dashboard without a port serves on 127.0.0.1:8350", async () => {
  let taken = false;
  try {
    Deno.listen({ hostname: "127.0.0.1", port: 8350 }).close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    taken = true;
  }
  if (taken) {
    // Something else holds 8350 here: the default shows in the error instead.
    return await inFolder({ "spec.yaml": STDIN_SPEC }, async (dir) => {
      const { code, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "-A", CLI, "run", "spec.yaml", "--no-progress", "--dashboard"],
        cwd: dir,
        stdin: "null",
      }).output();
      assert.equal(code, 2);
      assert.match(
        new TextDecoder().decode(stderr),
        /--dashboard 8350: cannot listen on 127\.0\.0\.1:8350/,
      );
    });
  }
  await inFolder({ "spec.yaml": STDIN_SPEC }, async (dir) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", CLI, "run", "spec.yaml", "--no-progress", "--dashboard"],
      cwd: dir,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdin = child.stdin.getWriter();
    const out = linesOf(child.stdout);
    const err = linesOf(child.stderr);
    const said: string[] = [];
    try {
      const [, url] = await lineMatching(err, /^dashboard on (\S+) /, said);
      assert.equal(url, "http://127.0.0.1:8350/");
      await stdin.write(new TextEncoder().encode("21\n"));
      assert.equal((await out.next()).value, "42");
      const stats = await getStats(url!);
      assert.deepEqual(stats.stages.map((s) => [s.name, s.itemsOut]), [["double", 1], ["sink", 1]]);
    } finally {
      await stdin.close();
      for await (const _ of out);
      for await (const line of err) said.push(line);
      assert.equal((await child.status).code, 0, said.join("\n"));
    }
  });
});

Deno.test("cli run --dashboard: a bad port or --dashboard on validate is a usage error (exit 2)", async () => {
  await inFolder({ "spec.yaml": STDIN_SPEC }, async (dir) => {
    for (
      const [args, message] of [
        [
          ["run", "spec.yaml", "--dashboard=70000"],
          /--dashboard PORT must be an integer from 0 to 65535/,
        ],
        [["run", "spec.yaml", "--dashboard=x"], /--dashboard PORT must be an integer/],
        [["validate", "spec.yaml", "--dashboard"], /--dashboard is a flag of run/],
      ] as const
    ) {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "-A", CLI, ...args],
        cwd: dir,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 2, stderr);
      assert.match(stderr, message);
    }
  });
});

Deno.test("cli run --dashboard on a port already taken says so and runs nothing (exit 2)", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  await inFolder({ "spec.yaml": STDIN_SPEC }, async (dir) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", CLI, "run", "spec.yaml", "--dashboard", String(port)],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2, stderr);
    assert.match(
      stderr,
      new RegExp(`--dashboard ${port}: cannot listen on 127\\.0\\.0\\.1:${port}`),
    );
    assert.match(stderr, /nothing ran/);
  });
});
