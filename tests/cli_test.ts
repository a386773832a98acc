// The command line, run as a subprocess on specs in a temporary folder.

import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { cli, exists, inFolder } from "./_cli.ts";

/** A spec and a JSON-lines input of `rows` rows `{ id, value: id + 1 }`. */
function files(spec: string, rows = 0): Record<string, string> {
  const input = Array.from(
    { length: rows },
    (_, id) => `${JSON.stringify({ id, value: id + 1 })}\n`,
  );
  return { "spec.yaml": spec, "input.jsonl": input.join("") };
}

const ENRICH_SPEC = `source:
  jsonl: ./input.jsonl
stages:
  - map: ./cli_kernels.ts#enrich
    executor: workers
    concurrency: 4
    outputOrder: input
sink:
  jsonl: ./out.jsonl
options:
  numThreads: 2
`;

Deno.test("cli run writes every item of a JSON-lines file through a worker kernel, in order", async () => {
  await inFolder(files(ENRICH_SPEC, 200), async (dir) => {
    const marker = `${dir}/marker.txt`;
    const ran = await cli(dir, ["run", "spec.yaml", "--no-progress"], {
      CONVEYOR_CLI_MARKER: marker,
    });
    assert.equal(ran.code, 0, ran.stderr);
    // The marker works: a spec that runs loads the module and calls the kernel.
    const calls = (await Deno.readTextFile(marker)).split("\n").filter((l) =>
      l.startsWith("enrich")
    );
    assert.equal(calls.length, 200);
    const lines = (await Deno.readTextFile(`${dir}/out.jsonl`)).split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines.length, 200);
    lines.forEach((line, id) => {
      assert.deepEqual(JSON.parse(line), { id, square: (id + 1) ** 2, tag: `row-${id}` });
    });
    assert.match(ran.stderr, /stage\s+kind/);
    assert.match(ran.stderr, /enrich\s+pipe\s+200\s+200/);
  });
});

Deno.test("cli reports all three mistakes of a spec with their lines, exits 2 and runs nothing", async () => {
  const spec = [
    "source:",
    "  jsonl: ./input.jsonl",
    "stages:",
    "  - map: ./cli_kernels.ts#enrich",
    "    concurrency: -2", // line 5: negative concurrency
    "  - map: ./cli_kernels.ts#enrichh", // line 6: no such export
    "  - aggregate: 4",
    "    dropLst: true", // line 8: unknown key
    "sink:",
    "  jsonl: ./out.jsonl",
  ].join("\n");
  await inFolder(files(spec, 10), async (dir) => {
    const marker = `${dir}/marker.txt`;
    for (const command of ["run", "validate"]) {
      const ran = await cli(dir, [command, "spec.yaml"], { CONVEYOR_CLI_MARKER: marker });
      assert.equal(ran.code, 2, ran.stderr);
      const reported = ran.stderr.split("\n").filter((l) => l.startsWith("spec.yaml:"));
      assert.deepEqual(reported.map((l) => l.split(":").slice(1, 3).join(":")), [
        "5:18",
        "6:10",
        "8:5",
      ]);
      assert.match(
        reported[0]!,
        /stages\[0\]\.concurrency is -2 \(expected a positive integer, \.inf or "auto"\)/,
      );
      assert.match(reported[1]!, /no export "enrichh" \(did you mean "enrich"\?\)/);
      assert.match(
        reported[2]!,
        /stages\[2\]: unknown option "dropLst" \(did you mean dropLast\?\); the options are aggregate, dropLast/,
      );
      assert.match(ran.stderr, /3 mistakes in spec\.yaml; nothing ran/);
    }
    assert.equal(await exists(marker), false, "the kernel module was loaded");
    assert.equal(await exists(`${dir}/out.jsonl`), false);
  });
});

Deno.test("cli exits 1 when a kernel fails with maxFailures 0, naming the stage and the item", async () => {
  const spec = `source: { jsonl: ./input.jsonl }
stages:
  - map: ./cli_kernels.ts#unlucky
    name: screen
    concurrency: 2
sink: { jsonl: ./out.jsonl }
options: { maxFailures: 0, numThreads: 2 }
`;
  await inFolder(files(spec, 40), async (dir) => {
    const ran = await cli(dir, ["run", "spec.yaml", "--no-progress", "--no-stats"]);
    assert.equal(ran.code, 1, ran.stderr);
    assert.match(ran.stderr, /error: Pipeline failed: stage "screen"/);
    assert.match(ran.stderr, /Stage "screen" failed on item 13: row 13 is unlucky/);
    assert.doesNotMatch(ran.stderr, /stage\s+kind/);
  });
});

Deno.test("cli progress off a terminal has no escape codes; --trace writes Chrome trace events", async () => {
  const spec = ENRICH_SPEC.replace("jsonl: ./out.jsonl", "text: ./out.txt");
  await inFolder(files(spec, 50), async (dir) => {
    const ran = await cli(dir, ["run", "spec.yaml", "--progress", "--trace", "trace.json"]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stderr, /^progress: 50 items, [\d,]+ items\/s, [\d.]+ s \(done\)$/m);
    // deno-lint-ignore no-control-regex -- the escape character is the point
    assert.doesNotMatch(ran.stderr, /\x1b\[/);
    assert.doesNotMatch(ran.stderr, /\r/);
    const trace = JSON.parse(await Deno.readTextFile(`${dir}/trace.json`));
    const tasks = trace.traceEvents.filter((e: { ph: string }) => e.ph === "X");
    assert.equal(tasks.length, 50);
    assert.ok(tasks.every((e: { cat: string; dur: number }) => e.cat === "enrich" && e.dur >= 0));
    assert.equal((await Deno.readTextFile(`${dir}/out.txt`)).split("\n").length, 51);
  });
});

Deno.test("cli streams its output as the body of a POST to a url sink", async () => {
  const received: string[] = [];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      assert.equal(request.method, "POST");
      received.push(await request.text());
      return new Response("ok");
    },
  );
  const spec = `source: { range: { start: 1, end: 301 } }
stages:
  - map: ./cli_kernels.ts#double
    concurrency: 3
    outputOrder: input
  - aggregate: 7
  - map: ./cli_kernels.ts#sum
    executor: main
sink:
  url: http://127.0.0.1:${server.addr.port}/ingest
options: { numThreads: 2 }
`;
  await inFolder(files(spec), async (dir) => {
    const ran = await cli(dir, ["run", "spec.yaml", "--no-progress", "--no-stats"]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(received.length, 1);
    const lines = received[0]!.split("\n");
    assert.equal(lines.pop(), "");
    const expected = [];
    for (let start = 1; start <= 300; start += 7) {
      let total = 0;
      for (let x = start; x < Math.min(start + 7, 301); x++) total += 2 * x;
      expected.push(String(total));
    }
    assert.deepEqual(lines, expected);
  });
});

Deno.test("cli validate, --help, --version and bad usage", async () => {
  await inFolder(files(ENRICH_SPEC), async (dir) => {
    const ok = await cli(dir, ["validate", "spec.yaml"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "spec.yaml: ok (jsonl -> enrich on workers -> jsonl)\n");
    const help = await cli(dir, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /run SPEC/);
    assert.equal((await cli(dir, ["--version"])).stdout, `${denoJson.name} ${denoJson.version}\n`);
    for (const args of [[], ["go", "spec.yaml"], ["run"], ["run", "spec.yaml", "--fast"]]) {
      const bad = await cli(dir, args);
      assert.equal(bad.code, 2, args.join(" "));
      assert.match(bad.stderr, /^error: .*\n\nUsage:/);
    }
    const missing = await cli(dir, ["run", "nope.yaml"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^nope\.yaml:1:1: cannot read the spec/);
  });
});
