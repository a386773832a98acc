// The command line's NATS side against a real nats-server: `cli.ts worker`
// serves a NatsPool and drains on SIGTERM without losing an item, a YAML
// spec whose stage runs on `executor: { nats }` runs through `cli.ts run`,
// and bad flags and bad mappings are reported before anything runs.

import assert from "node:assert/strict";
import { buildFromSpec, parseSpec } from "../src/config/mod.ts";
import { kernel } from "../src/exec/mod.ts";
import { NatsPool } from "../src/nats/mod.ts";
import { CLI, cli } from "./_cli.ts";
import { type Child, childProcesses, freePort, spawnDeno, startNats } from "./_nats.ts";

const KERNELS = `
export const square = (x: number): number => x * x;

export function boom(x: number): number {
  if (x === 3) throw new Error("boom at 3");
  return x;
}

/** Waits at the test's gate (an HTTP request it answers when it chooses), then says who ran it. */
export async function gated(input: { x: number; gate: string }): Promise<{ square: number; pid: number }> {
  const response = await fetch(\`\${input.gate}/\${input.x}\`);
  await response.body?.cancel();
  return { square: input.x * input.x, pid: Deno.pid };
}
`;

/** Runs `body` in a temporary folder that holds kernels.ts, removed afterwards. */
async function inFolder(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "conveyor_nats_cli_" });
  try {
    await Deno.writeTextFile(`${dir}/kernels.ts`, KERNELS);
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `cli.ts worker` for pool `pool` with `args` added. */
function worker(servers: string, pool: string, dir: string, ...args: string[]): Child {
  return spawnDeno([
    "run",
    "--quiet",
    "-A",
    CLI,
    "worker",
    "--servers",
    servers,
    "--pool",
    pool,
    "--allow-modules",
    dir,
    ...args,
  ]);
}

/**
 * An HTTP gate on loopback: every request waits until `open()`; `arrived`
 * settles at the first request.
 */
function gate(): AsyncDisposable & { url: string; arrived: Promise<void>; open(): void } {
  const arrived = Promise.withResolvers<void>();
  const opened = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    arrived.resolve();
    await opened.promise;
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    arrived: arrived.promise,
    open: () => opened.resolve(),
    async [Symbol.asyncDispose]() {
      opened.resolve();
      await server.shutdown();
    },
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

Deno.test("cli.ts worker serves a NatsPool; SIGTERM drains it (exit 0) and the next worker gets the rest, every item once", async () => {
  await inFolder(async (dir) => {
    await using nats = await startNats();
    await using gated = gate();
    await using first = worker(nats.url, "cli", dir, "--size", "1", "--name", "first");
    await using pool = await NatsPool.connect({ servers: nats.url, pool: "cli" });
    const kernels = new URL(`file://${dir}/kernels.ts`);

    // Items correct, in input order.
    const square = kernel<(x: number) => number>(kernels, "square");
    const squares = ReadableStream.from(range(300)).pipeThrough(pool.map(square));
    assert.deepEqual(await Array.fromAsync(squares), range(300).map((x) => x * x));

    // A run with items in flight on the first worker when it gets SIGTERM.
    type Out = { square: number; pid: number };
    const slow = kernel<(input: { x: number; gate: string }) => Out>(kernels, "gated");
    const n = 400;
    const inputs = range(n).map((x) => ({ x, gate: gated.url }));
    const results = Array.fromAsync(ReadableStream.from(inputs).pipeThrough(pool.map(slow)));
    await gated.arrived; // the first worker runs a task, held at the gate
    first.kill("SIGTERM");
    await first.waitFor("draining");
    gated.open();
    const status = await first.status;
    assert.equal(status.code, 0, first.log());
    assert.match(first.log(), /conveyor worker: drained/);

    // What the first worker did not take goes to the next one.
    await using second = worker(nats.url, "cli", dir, "--size", "2");
    const out = await results;
    assert.deepEqual(out.map((o) => o.square), range(n).map((x) => x * x));
    const by = new Set(out.map((o) => o.pid));
    assert.deepEqual([...by].sort(), [first.pid, second.pid].sort(), "both workers ran items");
    const byFirst = out.filter((o) => o.pid === first.pid).length;
    assert(byFirst > 0 && byFirst < n, `the first worker ran ${byFirst} of ${n}`);

    second.kill("SIGINT"); // Ctrl-C drains too
    assert.equal((await second.status).code, 0, second.log());
  });
  assert.deepEqual(await childProcesses(), []);
});

Deno.test("a second signal stops a draining cli.ts worker at once (exit 130)", async () => {
  await inFolder(async (dir) => {
    await using nats = await startNats();
    await using gated = gate();
    await using held = worker(nats.url, "stuck", dir, "--size", "1");
    await using pool = await NatsPool.connect({ servers: nats.url, pool: "stuck" });
    const slow = kernel<(input: { x: number; gate: string }) => unknown>(
      new URL(`file://${dir}/kernels.ts`),
      "gated",
    );
    const pending = pool.run(slow, { x: 1, gate: gated.url }).then(() => undefined, (e) => e);
    await gated.arrived; // the worker holds the task at the gate
    held.kill("SIGTERM");
    await held.waitFor("draining");
    held.kill("SIGTERM");
    assert.equal((await held.status).code, 130, held.log());
    assert.match(held.log(), /SIGTERM again: stopping at once/);
    await pool.close();
    assert.match(String(await pending), /NatsPool "stuck" was closed/);
  });
  assert.deepEqual(await childProcesses(), []);
});

Deno.test("a YAML spec whose stage runs on executor: { nats } runs through cli.ts run on a worker process", async () => {
  await inFolder(async (dir) => {
    await using nats = await startNats();
    await using served = worker(nats.url, "yaml", dir, "--size", "2");
    await Deno.writeTextFile(
      `${dir}/spec.yaml`,
      `source: { range: 50 }
stages:
  - map: ./kernels.ts#square
    executor: { nats: { servers: [${nats.url}], pool: yaml } }
    outputOrder: input
sink: { jsonl: ./out.jsonl }
`,
    );
    const checked = await cli(dir, ["validate", "spec.yaml"]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /range -> square on NATS pool yaml -> jsonl/);

    const ran = await cli(dir, ["run", "spec.yaml", "--no-progress"]);
    assert.equal(ran.code, 0, ran.stderr);
    const lines = (await Deno.readTextFile(`${dir}/out.jsonl`)).trimEnd().split("\n");
    assert.deepEqual(lines.map(Number), range(50).map((x) => x * x));
    assert.match(ran.stderr, /square/); // the statistics table names the stage

    served.kill("SIGTERM");
    assert.equal((await served.status).code, 0, served.log());
  });
  assert.deepEqual(await childProcesses(), []);
});

Deno.test("examples/cluster: its spec runs on a worker of pool decode and gives what the kernels give here", async () => {
  const example = new URL("../examples/cluster/", import.meta.url);
  const { decode, summarize } = await import("../examples/cluster/kernels.ts");
  await inFolder(async (dir) => {
    await using nats = await startNats();
    await Deno.copyFile(new URL("kernels.ts", example), `${dir}/kernels.ts`);
    const text = await Deno.readTextFile(new URL("pipeline.yaml", example));
    const spec = text
      .replace("range: 20000", "range: 250")
      .replace("servers: [nats://127.0.0.1:4222]", `servers: [${nats.url}]`);
    assert.notEqual(spec, text.replace("range: 20000", "range: 250"), "the servers were replaced");
    await Deno.writeTextFile(`${dir}/pipeline.yaml`, spec);
    await using served = worker(nats.url, "decode", dir, "--size", "2");
    const ran = await cli(dir, ["run", "pipeline.yaml", "--no-progress"]);
    assert.equal(ran.code, 0, ran.stderr);
    const lines = (await Deno.readTextFile(`${dir}/summaries.jsonl`)).trimEnd().split("\n");
    const expected = [0, 100, 200].map((first) =>
      summarize(range(Math.min(100, 250 - first)).map((i) => decode(first + i)))
    );
    assert.deepEqual(lines.map((line) => JSON.parse(line)), expected);
    served.kill("SIGTERM");
    assert.equal((await served.status).code, 0, served.log());
  });
  assert.deepEqual(await childProcesses(), []);
});

Deno.test("buildFromSpec closes its NATS pools when the run ends, fails, or is disposed unrun", async () => {
  await inFolder(async (dir) => {
    await using nats = await startNats();
    await using served = worker(nats.url, "build", dir, "--size", "1");
    // The server's open connections named after the spec's pool (a NatsPool's connection name).
    const clients = async () => {
      const connz = await (await fetch(`${nats.monitor}/connz?state=open`)).json();
      return (connz.connections ?? []).filter((c: { name?: string }) => c.name === "spec-pool")
        .length;
    };
    // Waits (on the server's view, with a guard) until the pool's connection is gone.
    const closed = async () => {
      for (let tries = 0; (await clients()) > 0; tries++) {
        assert(tries < 200, "the pool's connection stayed open");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    const text = (kernel: string) =>
      `source: { range: 6 }\nstages:\n  - map: ./kernels.ts#${kernel}\n` +
      `    executor: { nats: { servers: ${nats.url}, pool: build, name: spec-pool } }\n` +
      `    outputOrder: input\nsink: { stdout: jsonl }\n`;
    const build = async (kernel: string) => {
      const result = await parseSpec(text(kernel), `${dir}/spec.yaml`);
      assert(result.ok, result.ok ? "" : result.errors.map((e) => e.format()).join("\n"));
      let out = "";
      const stdout = new WritableStream<Uint8Array>({
        write: (chunk) => void (out += new TextDecoder().decode(chunk)),
      });
      return { run: await buildFromSpec(result.spec, { stdout }), out: () => out };
    };

    const ok = await build("square");
    assert.equal(await clients(), 1, "built: connected");
    await ok.run.run();
    assert.equal(ok.out(), "0\n1\n4\n9\n16\n25\n");
    await closed();
    await ok.run[Symbol.asyncDispose]();

    const failing = await build("boom");
    await assert.rejects(failing.run.run(), /boom at 3/);
    await closed();
    await failing.run[Symbol.asyncDispose]();

    const unrun = await build("square");
    assert.equal(await clients(), 1);
    await unrun.run[Symbol.asyncDispose]();
    await closed();

    served.kill("SIGTERM");
    assert.equal((await served.status).code, 0, served.log());
  });
});

Deno.test("a spec's NATS pool that cannot be reached: cli.ts run says which stage, pool and servers; nothing ran", async () => {
  await inFolder(async (dir) => {
    const url = `nats://127.0.0.1:${freePort()}`;
    await Deno.writeTextFile(
      `${dir}/spec.yaml`,
      `source: { range: 5 }\nstages:\n  - map: ./kernels.ts#square\n` +
        `    executor: { nats: { servers: ${url}, pool: away } }\nsink: { jsonl: ./out.jsonl }\n`,
    );
    const ran = await cli(dir, ["run", "spec.yaml", "--no-progress"]);
    assert.equal(ran.code, 2, ran.stderr);
    assert.match(
      ran.stderr,
      new RegExp(
        `stages\\[0\\]\\.executor\\.nats: cannot connect to pool "away" on ${url}: .*nothing ran`,
      ),
    );
    assert.equal(await Deno.stat(`${dir}/out.jsonl`).catch(() => undefined), undefined);
  });
});

Deno.test("cli.ts validate reports a bad nats mapping with the key it likely means", async () => {
  await inFolder(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/spec.yaml`,
      `source: { range: 5 }\nstages:\n  - map: ./kernels.ts#square\n` +
        `    executor: { nats: { servers: nats://127.0.0.1:4222, pol: p } }\nsink: { stdout: jsonl }\n`,
    );
    const ran = await cli(dir, ["validate", "spec.yaml"]);
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /spec\.yaml:4:17: stages\[0\]\.executor\.nats has no pool/);
    assert.match(
      ran.stderr,
      /spec\.yaml:4:57: stages\[0\]\.executor\.nats: unknown option "pol" \(did you mean pool\?\)/,
    );
    assert.match(ran.stderr, /2 mistakes in spec\.yaml; nothing ran/);
  });
});

Deno.test("cli.ts worker: missing and bad flags are usage errors (exit 2) that say what is wrong", async () => {
  await inFolder(async (dir) => {
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [[], /--servers is required/],
      [["--servers", "nats://h:4222"], /--pool is required/],
      [["--servers", "nats://h:4222", "--pool", "p"], /--allow-modules is required/],
      [["--server", "nats://h:4222"], /unknown flag --server \(did you mean --servers\?\)/],
      [["--servers", "http://h", "--pool", "p", "--allow-modules", "."], /scheme is http/],
      [["--servers", "h:4222", "--pool", "a b", "--allow-modules", "."], /--pool must be/],
      [["--servers", "h:4222", "--pool", "p", "--allow-modules", "./nowhere"], /does not exist/],
      [["--servers", "h:4222", "--pool", "p", "--allow-modules"], /needs at least one DIR/],
      [["--servers", "h:4222", "--pool", "p", "--allow-modules", ".", "--size", "0"], /--size/],
      [["spec.yaml", "--servers", "h:4222"], /unexpected argument "spec.yaml"/],
      [
        ["--servers", "h:4222", "--pool", "p", "--allow-modules", "."],
        /a user \(--user or NATS_USER\) needs a password/,
        { NATS_USER: "u" },
      ],
    ];
    for (const [args, message, env] of cases) {
      const ran = await cli(dir, ["worker", ...args], env);
      assert.equal(ran.code, 2, `${args.join(" ")}: ${ran.stderr}`);
      assert.match(ran.stderr, message, args.join(" "));
      assert.match(ran.stderr, /Usage: conveyor worker/);
    }
    const help = await cli(dir, ["worker", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /NATS_USER, NATS_PASS and NATS_TOKEN/);
    const top = await cli(dir, ["--help"]);
    assert.match(top.stdout, /worker +serve a NATS pool's tasks/);
  });
});
