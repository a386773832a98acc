// YAML pipeline specs: positions of mistakes, all at once, guesses, and the
// pipelines specs build.

import assert from "node:assert/strict";
import {
  buildFromSpec,
  type BuildFromSpecOptions,
  parseSpec,
  type PipelineSpec,
  type SpecResult,
} from "../src/config/mod.ts";
import { type BuildOptions, PipelineBuilder, type PipeOptions } from "../src/pipeline/mod.ts";
import { glob, globToRegExp } from "../src/config/_glob.ts";
import { MAX_DEPTH, MAX_STAGES } from "../src/config/_parse_spec.ts";

const KERNELS = new URL("./fixtures/cli_kernels.ts", import.meta.url);

/**
 * Runs `body` in a new temporary folder with the kernels and an input of 20
 * rows, and removes the folder afterwards, also after a failure.
 */
async function inFolder(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "conveyor_config_" });
  try {
    await Deno.copyFile(KERNELS, `${dir}/cli_kernels.ts`);
    const rows = Array.from({ length: 20 }, (_, id) => `${JSON.stringify({ id, value: id })}\n`);
    await Deno.writeTextFile(`${dir}/input.jsonl`, rows.join(""));
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function errors(result: SpecResult): string[] {
  assert(!result.ok, "the spec was accepted");
  return result.errors.map((e) => `${e.line}:${e.column} ${e.message}`);
}

function spec(result: SpecResult): PipelineSpec {
  assert(result.ok, result.ok ? "" : result.errors.map((e) => e.format()).join("\n"));
  return result.spec;
}

/** Checks `text` as `dir`/spec.yaml, builds it and runs it to the end. */
async function runSpec(text: string, dir: string, options?: BuildFromSpecOptions): Promise<void> {
  await using run = await buildFromSpec(spec(await parseSpec(text, `${dir}/spec.yaml`)), options);
  await run.run();
}

Deno.test("parseSpec reports every mistake at once, by position, with guesses", async () => {
  await inFolder(async (dir) => {
    const text = [
      "source:", // 1
      "  jsonl: ./input.jsonl", // 2
      "  range: 5", // 3: a second kind of source
      "stages:", // 4
      "  - map: ./cli_kernels.ts#enrich", // 5
      "    executor: worker", // 6: did you mean workers
      "    concurency: 2", // 7: did you mean concurrency
      "    outputOrder: sorted", // 8: not completion or input
      "  - map: ./nowhere.ts#enrich", // 9: no such module
      "  - map: ./cli_kernels.ts#NotAKernel", // 10: a type, not a function
      "  - aggregate: 2.5", // 11: not an integer
      "    executor: main", // 12: not for aggregate
      "  - disaggregate: false", // 13: must be true
      "sink:", // 14
      "  url: ftp://example.com/", // 15: not http
      "options:", // 16
      "  numThreads: 0", // 17
      "  reportStatsInterval: -5", // 18
      "  trace: ./no/such/folder/trace.json", // 19
    ].join("\n");
    const result = await parseSpec(text, `${dir}/spec.yaml`);
    const found = errors(result);
    const at = found.map((e) => e.split(" ")[0]);
    assert.deepEqual(at, [
      "3:3",
      "6:15",
      "7:5",
      "8:18",
      "9:10",
      "10:10",
      "11:16",
      "12:5",
      "13:19",
      "15:8",
      "17:15",
      "18:24",
      "19:10",
    ]);
    assert.match(found[0]!, /source has more than one kind: jsonl and range/);
    assert.match(found[1]!, /stages\[0\]\.executor is "worker" \(did you mean "workers"\?\)/);
    assert.match(
      found[2]!,
      /stages\[0\]: unknown option "concurency" \(did you mean concurrency\?\)/,
    );
    assert.match(found[3]!, /stages\[0\]\.outputOrder is "sorted"/);
    assert.match(found[4]!, /module \.\/nowhere\.ts does not exist/);
    assert.match(
      found[5]!,
      /export "NotAKernel" of module \.\/cli_kernels\.ts is an interface, not a function/,
    );
    assert.match(found[7]!, /executor does not apply to an aggregate stage/);
    // The words of the builder's options, with YAML's .inf for Infinity.
    const expected = result.ok ? [] : result.errors.map((e) => e.expected);
    assert.equal(expected[3], '"completion" or "input"');
    assert.equal(expected[10], "a positive integer up to 1024");
    assert.equal(found[11], "18:24 options.reportStatsInterval is -5");
    assert.equal(expected[11], "a positive number of milliseconds up to 2147483647, or .inf");
  });
});

Deno.test("a stage says target and order as the builder does, executor and outputOrder: the old keys get a did-you-mean", async () => {
  await inFolder(async (dir) => {
    const text = `source: { range: 3 }
stages:
  - map: ./cli_kernels.ts#double
    target: main
    order: input
sink: { stdout: text }
options:
  statsInterval: 1000
  permissions: { read: true }
`;
    const keys = "map, concurrency, outputOrder, name, maxFailures, executor, transfer";
    const options =
      "numThreads, maxFailures, reportStatsInterval, processPermissions, bufferSize, progress, trace";
    assert.deepEqual(errors(await parseSpec(text, `${dir}/spec.yaml`)), [
      `4:5 stages[0]: unknown option "target" (did you mean executor?); the options are ${keys}`,
      `5:5 stages[0]: unknown option "order" (did you mean outputOrder?); the options are ${keys}`,
      `8:3 options: unknown option "statsInterval" (did you mean reportStatsInterval?); ` +
      `the options are ${options}`,
      `9:3 options: unknown option "permissions" (did you mean processPermissions?); ` +
      `the options are ${options}`,
    ]);
  });
});

Deno.test("the same typo gets the same suggestion in code (pipe, build) and in a spec", async () => {
  await inFolder(async (dir) => {
    // `unknown option "key" (did you mean x?)`, as both say it.
    const said = (message: string, key: string) =>
      message.match(new RegExp(`unknown option "${key}"(?: \\(did you mean \\w+\\?\\))?`))?.[0];
    const inCode = (build: () => unknown, key: string) => {
      try {
        build();
      } catch (error) {
        assert(error instanceof TypeError, String(error));
        return said(error.message, key);
      }
      assert.fail(`${key} was accepted`);
    };
    const inSpec = async (stage: string, options: string, key: string) => {
      const text = `source: { range: 3 }\nstages:\n  - map: ./cli_kernels.ts#double\n${stage}` +
        `sink: { stdout: text }\noptions:\n${options}`;
      const found = errors(await parseSpec(text, `${dir}/spec.yaml`));
      assert.equal(found.length, 1, found.join("\n"));
      return said(found[0]!, key);
    };
    const double = (x: number) => x * 2;
    const pipeTypos = ["concurency", "target", "order", "outputorder", "nmae", "maxFailure"];
    for (const key of [...pipeTypos, "executer", "tranfser"]) {
      const code = inCode(
        () =>
          new PipelineBuilder().addSource([1]).pipe(double, { [key]: 1 } as PipeOptions).addSink()
            .build(),
        key,
      );
      assert.match(code ?? "", /did you mean/, `${key}: no suggestion in code`);
      assert.equal(await inSpec(`    ${key}: 1\n`, "  numThreads: 1\n", key), code, key);
    }
    for (const key of ["numThread", "maxFailurs", "reportStatInterval", "procesPermissions"]) {
      const code = inCode(
        () => new PipelineBuilder().addSource([1]).addSink().build({ [key]: 1 } as BuildOptions),
        key,
      );
      assert.match(code ?? "", /did you mean/, `${key}: no suggestion in code`);
      assert.equal(await inSpec("", `  ${key}: 1\n`, key), code, key);
    }
  });
});

Deno.test("a map stage without concurrency on a pool keeps every worker busy, as pipe does; on main it runs one at a time", async () => {
  await inFolder(async (dir) => {
    const text = `source: { range: 20 }
stages:
  - map: ./cli_kernels.ts#double
    name: pooled
  - map: ./cli_kernels.ts#double
    name: bounded
    concurrency: 2
  - map: ./cli_kernels.ts#double
    name: main
    executor: main
sink: { stdout: jsonl }
options: { numThreads: 3 }
`;
    const stdout = new WritableStream<Uint8Array>();
    await using run = await buildFromSpec(spec(await parseSpec(text, `${dir}/spec.yaml`)), {
      stdout,
    });
    await run.run();
    const concurrency = run.pipeline.stats().stages.map((s) => [s.name, s.concurrency]);
    assert.deepEqual(concurrency.slice(0, 3), [["pooled", 3], ["bounded", 2], ["main", 1]]);
  });
});

Deno.test("a map stage takes concurrency: auto, on workers and on main, and reports the limits it picked", async () => {
  await inFolder(async (dir) => {
    const text = `source: { range: 200 }
stages:
  - map: ./cli_kernels.ts#double
    name: pooled
    concurrency: auto
    outputOrder: input
  - map: ./cli_kernels.ts#double
    name: main
    executor: main
    concurrency: auto
    outputOrder: input
sink: { stdout: jsonl }
options: { numThreads: 2 }
`;
    const parsed = spec(await parseSpec(text, `${dir}/spec.yaml`));
    assert.deepEqual(
      parsed.stages.map((s) => s.kind === "map" && s.concurrency),
      ["auto", "auto"],
    );
    const chunks: Uint8Array[] = [];
    const stdout = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
    await using run = await buildFromSpec(parsed, { stdout });
    await run.run();
    const lines = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    assert.deepEqual(
      lines.trim().split("\n").map(Number),
      Array.from({ length: 200 }, (_, i) => 4 * i),
    );
    for (const stage of run.pipeline.stats().stages.slice(0, 2)) {
      assert(
        stage.concurrency >= 1 && stage.concurrency <= 256,
        `${stage.name} ${stage.concurrency}`,
      );
    }
  });
});

Deno.test("a mistyped concurrency: auto gets a did-you-mean and the words concurrency takes", async () => {
  await inFolder(async (dir) => {
    const text = `source: { range: 3 }
stages:
  - map: ./cli_kernels.ts#double
    concurrency: atuo
sink: { stdout: text }
`;
    const result = await parseSpec(text, `${dir}/spec.yaml`);
    assert.deepEqual(errors(result), [
      '4:18 stages[0].concurrency is "atuo" (did you mean "auto"?)',
    ]);
    assert(!result.ok);
    assert.equal(result.errors[0]!.expected, 'a positive integer, .inf or "auto"');
  });
});

Deno.test("buildFromSpec checks its options: an unknown key gets the closest name, a bad value its words", async () => {
  const s = spec(
    await parseSpec("source: { range: 3 }\nstages: []\nsink: { stdout: text }\n", "s.yaml"),
  );
  const stdout = new WritableStream<Uint8Array>();
  await assert.rejects(
    buildFromSpec(s, { stdout, statsInterval: 10 } as BuildFromSpecOptions),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message === 'buildFromSpec: unknown option "statsInterval" (did you mean ' +
          "reportStatsInterval?); the options are trace, onStats, reportStatsInterval, stdin, stdout",
  );
  await assert.rejects(
    buildFromSpec(s, { stdot: stdout } as BuildFromSpecOptions),
    /buildFromSpec: unknown option "stdot" \(did you mean stdout\?\)/,
  );
  await assert.rejects(
    buildFromSpec(s, { stdout, onStats: () => {}, reportStatsInterval: 0 }),
    (e: unknown) =>
      e instanceof RangeError &&
      /buildFromSpec: reportStatsInterval must be a positive number .* got 0/.test(e.message),
  );
  await assert.rejects(
    buildFromSpec(s, { stdout: "-" as never }),
    /buildFromSpec: stdout must be a WritableStream, got "-"/,
  );
  await assert.rejects(
    buildFromSpec(s, { stdout, reportStatsInterval: 1000 }),
    /buildFromSpec: reportStatsInterval needs onStats to report to/,
  );
  const reports: boolean[] = [];
  await runSpec("source: { range: 3 }\nstages: []\nsink: { stdout: text }\n", ".", {
    stdout,
    onStats: (stats) => void reports.push(stats.done),
    reportStatsInterval: Infinity,
  });
  assert.deepEqual(reports, [true]);
});

Deno.test("parseSpec reports missing sections, empty specs and YAML syntax errors with positions", async () => {
  assert.deepEqual(errors(await parseSpec("options: {}\n", "s.yaml")), [
    "1:1 the spec has no source",
    "1:1 the spec has no stages",
    "1:1 the spec has no sink",
  ]);
  assert.deepEqual(errors(await parseSpec("", "s.yaml")), ["1:1 the spec is empty"]);
  const nofile = "source:\n  lines: ./nope.txt\nstages: []\nsink: { text: ./out.txt }\n";
  assert.match(
    errors(await parseSpec(nofile, "/tmp/s.yaml"))[0]!,
    /^2:10 .*\/tmp\/nope\.txt does not exist/,
  );
  assert.deepEqual(errors(await parseSpec("- 1\n- 2\n", "s.yaml")).length, 1);
  const syntax = errors(await parseSpec("source:\n  range: [1, 2\nsink: x\n", "s.yaml"));
  assert.equal(syntax.length, 1);
  assert.match(syntax[0]!, /^3:1 /);
  const twice =
    "source: { range: 3 }\nstages: []\nsink: { stdout: text }\nsink: { stdout: jsonl }\n";
  assert.deepEqual(errors(await parseSpec(twice, "s.yaml")), ["4:1 duplicate key"]);
  const sourceless = "source: {}\nstages: []\nsink: { stdout: txt }\n";
  assert.deepEqual(errors(await parseSpec(sourceless, "s.yaml")), [
    "1:9 source has none of range, lines, jsonl, glob, stdin",
    '3:17 sink.stdout is "txt" (did you mean "text"?)',
  ]);
});

Deno.test("parseSpec fills in defaults and resolves paths against the spec file", async () => {
  await inFolder(async (dir) => {
    const text = `source: { jsonl: ./input.jsonl }
stages:
  - map: ./cli_kernels.ts#double
  - map: ./cli_kernels.ts#double
    outputOrder: input
    concurrency: 2
    maxFailures: .inf
  - aggregate: 3
    dropLast: true
  - disaggregate
sink: { text: ./out.txt }
`;
    const s = spec(await parseSpec(text, new URL(`file://${dir}/spec.yaml`)));
    assert.deepEqual(s.source, { kind: "jsonl", path: `${dir}/input.jsonl` });
    const module = new URL(`file://${dir}/cli_kernels.ts`).href;
    // The builder's defaults: workers, completion order, and no concurrency
    // (the pool's adaptive default).
    const base = {
      kind: "map",
      module,
      exportName: "double",
      executor: "workers",
      transfer: false,
    };
    assert.deepEqual(s.stages, [
      { ...base, outputOrder: "completion", name: "double" },
      {
        ...base,
        outputOrder: "input",
        concurrency: 2,
        name: "double 2",
        maxFailures: Infinity,
      },
      { kind: "aggregate", size: 3, dropLast: true },
      { kind: "disaggregate" },
    ]);
    assert.deepEqual(s.options, { maxFailures: 0, bufferSize: 3 });
    await using run = await buildFromSpec(s);
    assert.equal(run.total, undefined);
  });
});

Deno.test("parseSpec accepts function exports only, listing them", async () => {
  await inFolder(async (dir) => {
    const text = `source: { range: 3 }
stages:
  - map: ./cli_kernels.ts#LIMIT
  - map: ./cli_kernels.ts#dubble
  - map: ./cli_kernels.ts
sink: { stdout: text }
`;
    const result = await parseSpec(text, `${dir}/spec.yaml`);
    assert(!result.ok);
    assert.deepEqual(result.errors.map((e) => e.format().slice(dir.length + 1)), [
      'spec.yaml:3:10: export "LIMIT" of module ./cli_kernels.ts is a constant 3, not a function ' +
      "(expected an exported function)",
      'spec.yaml:4:10: module ./cli_kernels.ts has no export "dubble" (did you mean "double"?) ' +
      "(expected one of enrich, unlucky, double, sum)",
      'spec.yaml:5:10: module ./cli_kernels.ts has no export "default" ' +
      "(expected one of enrich, unlucky, double, sum)",
    ]);
  });
});

Deno.test("parseSpec does not load kernel modules", async () => {
  await inFolder(async (dir) => {
    const marker = `${dir}/marker.txt`;
    Deno.env.set("CONVEYOR_CLI_MARKER", marker);
    try {
      const text =
        "source: { range: 3 }\nstages: [{ map: ./cli_kernels.ts#double }]\nsink: { stdout: text }\n";
      spec(await parseSpec(text, `${dir}/spec.yaml`));
      assert.equal(await Deno.stat(marker).then(() => true, () => false), false);
    } finally {
      Deno.env.delete("CONVEYOR_CLI_MARKER");
    }
  });
});

Deno.test("buildFromSpec runs a range through main-thread kernels to a given stdout, with its total", async () => {
  await inFolder(async (dir) => {
    const text = `source: { range: { start: 10, end: 0, step: -2 } }
stages:
  - map: ./cli_kernels.ts#double
    executor: main
  - aggregate: 2
sink: { stdout: jsonl }
`;
    const chunks: Uint8Array[] = [];
    const stdout = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
    await using run = await buildFromSpec(spec(await parseSpec(text, `${dir}/spec.yaml`)), {
      stdout,
    });
    assert.equal(run.total, 3);
    await run.run();
    assert.equal(run.written, 3);
    const out = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    assert.equal(out, "[20,16]\n[12,8]\n[4]\n");
  });
});

Deno.test("buildFromSpec reads stdin lines and names the line of bad JSON", async () => {
  await inFolder(async (dir) => {
    const text = "source: { stdin: jsonl }\nstages: []\nsink: { text: ./out.txt }\n";
    const stdin = ReadableStream.from(["1\n2\n", "\n{oops\n"]).pipeThrough(new TextEncoderStream());
    await assert.rejects(runSpec(text, dir, { stdin }), /<stdin>:4: not JSON/);
  });
});

Deno.test("glob sources list matching files, sorted, with * ? ** [] and {}", async () => {
  await inFolder(async (dir) => {
    for (const path of ["a/1.jpg", "a/2.png", "a/b/3.jpg", "a/b/c/4.jpg", "a/x.jpg", "z.jpg"]) {
      await Deno.mkdir(`${dir}/${path.split("/").slice(0, -1).join("/")}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, "");
    }
    const names = async (pattern: string) =>
      (await glob(`${dir}/${pattern}`)).map((p) => p.slice(dir.length + 1));
    assert.deepEqual(await names("a/*.jpg"), ["a/1.jpg", "a/x.jpg"]);
    assert.deepEqual(await names("a/**/*.jpg"), ["a/1.jpg", "a/b/3.jpg", "a/b/c/4.jpg", "a/x.jpg"]);
    assert.deepEqual(await names("a/?.{jpg,png}"), ["a/1.jpg", "a/2.png", "a/x.jpg"]);
    assert.deepEqual(await names("a/[0-9].*"), ["a/1.jpg", "a/2.png"]);
    assert.ok(globToRegExp("/d/*.txt").test("/d/a.txt"));
    assert.ok(!globToRegExp("/d/*.txt").test("/d/e/a.txt"));
    const text = `source: { glob: "./a/**/*.jpg" }\nstages: []\nsink: { stdout: text }\n`;
    const s = spec(await parseSpec(text, `${dir}/spec.yaml`));
    await using run = await buildFromSpec(s, { stdout: new WritableStream() });
    assert.equal(run.total, 4);
    const missing = text.replace("./a/", "./nope/");
    assert.match(
      errors(await parseSpec(missing, `${dir}/spec.yaml`))[0]!,
      /^1:17 .*does not exist/,
    );
  });
});

Deno.test("a map stage's transfer key is a boolean", async () => {
  await inFolder(async (dir) => {
    const text = (transfer: string) =>
      `source: { range: 3 }\nstages:\n  - map: ./cli_kernels.ts#double\n    transfer: ${transfer}\nsink: { stdout: text }\n`;
    const ok = spec(await parseSpec(text("true"), `${dir}/spec.yaml`));
    assert.equal((ok.stages[0] as { transfer: boolean }).transfer, true);
    const bad = errors(await parseSpec(text("sometimes"), `${dir}/spec.yaml`));
    assert.equal(bad.length, 1);
    assert.match(bad[0]!, /^4:15 .*transfer/);
  });
});

Deno.test("options.processPermissions: kinds checked, paths resolved against the spec file", async () => {
  await inFolder(async (dir) => {
    const text = (permissions: string) =>
      `source: { range: 3 }\nstages: []\nsink: { stdout: text }\noptions:\n  processPermissions: ${permissions}\n`;
    const ok = spec(
      await parseSpec(text("{ read: [./data, /abs], net: true }"), `${dir}/spec.yaml`),
    );
    assert.deepEqual(ok.options.processPermissions, {
      read: [`${dir}/data`, "/abs"],
      net: true,
    });
    const bad = errors(
      await parseSpec(text("{ raed: true, net: [1, 'a,b'], env: maybe }"), `${dir}/spec.yaml`),
    );
    assert.equal(bad.length, 4, bad.join("\n"));
    assert.match(
      bad.join("\n"),
      /options\.processPermissions: unknown option "raed" \(did you mean read\?\)/,
    );
  });
});

Deno.test("a file sink is opened at its first item, after the source was read; a run that fails first leaves it as it was", async () => {
  await inFolder(async (dir) => {
    await Deno.copyFile(
      new URL("./fixtures/cli_fault_kernels.ts", import.meta.url),
      `${dir}/cli_fault_kernels.ts`,
    );
    // The one item names the sink file; the kernel reads it when the item arrives.
    await Deno.writeTextFile(`${dir}/paths.txt`, `${dir}/out.txt\n`);
    await Deno.writeTextFile(`${dir}/out.txt`, "before the run");
    const text = `source: { lines: ./paths.txt }
stages:
  - map: ./cli_fault_kernels.ts#readNow
    executor: main
sink: { text: ./out.txt }
`;
    await runSpec(text, dir);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "before the run\n");
    // Row 13 fails before any item reaches the sink: the file keeps its text.
    await Deno.writeTextFile(`${dir}/row13.jsonl`, `${JSON.stringify({ id: 13, value: 13 })}\n`);
    const failing = `source: { jsonl: ./row13.jsonl }
stages:
  - map: ./cli_kernels.ts#unlucky
    executor: main
sink: { jsonl: ./out.txt }
`;
    await assert.rejects(runSpec(failing, dir), /row 13 is unlucky/);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "before the run\n");
    // A run without items still leaves an empty file.
    const empty = "source: { range: 0 }\nstages: []\nsink: { jsonl: ./out.txt }\n";
    await runSpec(empty, dir);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "");
  });
});

Deno.test("parseSpec rejects a sink or trace file that the run reads: the same path, a link, a hard link, a glob", async () => {
  await inFolder(async (dir) => {
    await Deno.symlink(`${dir}/input.jsonl`, `${dir}/soft.jsonl`);
    await Deno.link(`${dir}/input.jsonl`, `${dir}/hard.jsonl`);
    await Deno.mkdir(`${dir}/sub`);
    await Deno.symlink(dir, `${dir}/sub/up`);
    const check = async (source: string, sink: string, options = "") =>
      errors(
        await parseSpec(
          `source: { ${source} }\nstages: []\nsink: { ${sink} }\n${options}`,
          `${dir}/spec.yaml`,
        ),
      );
    const input = `${dir}/input.jsonl`;
    const read = (by: string) => `is also read by ${by}: the run would destroy its own input`;
    assert.deepEqual(await check("jsonl: ./input.jsonl", "jsonl: ./input.jsonl"), [
      `3:16 sink.jsonl ${input} ${read(`source.jsonl (${input})`)}`,
    ]);
    assert.deepEqual(await check("lines: ./soft.jsonl", "text: ./input.jsonl"), [
      `3:15 sink.text ${input} ${read(`source.lines (${dir}/soft.jsonl)`)}`,
    ]);
    assert.deepEqual(await check("jsonl: ./input.jsonl", "text: ./hard.jsonl"), [
      `3:15 sink.text ${dir}/hard.jsonl ${read(`source.jsonl (${input})`)}`,
    ]);
    assert.deepEqual(await check('glob: "./**/*.txt"', "text: ./sub/out.txt"), [
      `3:15 sink.text ${dir}/sub/out.txt ${read(`source.glob (it matches "${dir}/**/*.txt")`)}`,
    ]);
    // Through a link to a folder the glob does not walk, it is still the file it lists.
    assert.deepEqual(await check('glob: "./*.txt"', "text: ./sub/up/out.txt"), [
      `3:15 sink.text ${dir}/sub/up/out.txt ${read(`source.glob (it matches "${dir}/*.txt")`)}`,
    ]);
    assert.deepEqual(
      await check("jsonl: ./input.jsonl", "text: ./out.txt", "options: { trace: ./hard.jsonl }\n"),
      [`4:19 options.trace ${dir}/hard.jsonl ${read(`source.jsonl (${input})`)}`],
    );
    assert.deepEqual(
      await check("jsonl: ./input.jsonl", "text: ./out.txt", "options: { trace: ./out.txt }\n"),
      [`4:19 options.trace ${dir}/out.txt is also written by sink.text: one would replace the other`],
    );
    // Files the run does not read are fine.
    spec(
      await parseSpec(
        'source: { glob: "./*.jsonl" }\nstages: []\nsink: { text: ./sub/out.txt }\n',
        `${dir}/spec.yaml`,
      ),
    );
  });
});

Deno.test("buildFromSpec refuses a spec made by hand whose sink is its source, before it opens anything", async () => {
  await inFolder(async (dir) => {
    const made: PipelineSpec = {
      file: `${dir}/spec.yaml`,
      source: { kind: "lines", path: `${dir}/input.jsonl` },
      stages: [],
      sink: { kind: "text", path: `${dir}/./input.jsonl` },
      options: { maxFailures: 0, bufferSize: 3 },
    };
    const before = await Deno.readTextFile(`${dir}/input.jsonl`);
    await assert.rejects(
      buildFromSpec(made),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message ===
          `Cannot build the spec's pipeline: sink.text ${dir}/./input.jsonl is also read by ` +
            `source.lines (${dir}/input.jsonl): the run would destroy its own input`,
    );
    assert.equal(await Deno.readTextFile(`${dir}/input.jsonl`), before);
  });
});

Deno.test(`a spec of ${MAX_STAGES} aggregate stages runs; parseSpec refuses ${MAX_STAGES + 1}, naming the limit`, async () => {
  // Aggregate stages end by the deepest recursion of all stage kinds: the
  // limit must leave room for a chain of them that long.
  const text = (n: number) =>
    `source: { range: 3 }\nsink: { stdout: jsonl }\nstages:\n${"  - aggregate: 1\n".repeat(n)}`;
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const stdout = new WritableStream<Uint8Array>({
    write: (chunk) => void chunks.push(decoder.decode(chunk)),
  });
  await runSpec(text(MAX_STAGES), ".", { stdout });
  const nested = (x: number) => `${"[".repeat(MAX_STAGES)}${x}${"]".repeat(MAX_STAGES)}\n`;
  assert.equal(chunks.join(""), nested(0) + nested(1) + nested(2));
  assert.deepEqual(errors(await parseSpec(text(MAX_STAGES + 1), "spec.yaml")), [
    `${4 + MAX_STAGES}:5 stages has ${MAX_STAGES + 1} stages, more than the limit of ${MAX_STAGES}`,
  ]);
});

Deno.test("parseSpec reports specs nested thousands deep at the first level too many, without overflowing", async () => {
  const tail = "stages: []\nsink: { stdout: text }\n";
  const flow = `source: ${"[".repeat(5000)}${"]".repeat(5000)}\n${tail}`;
  const block = `source:\n${
    Array.from({ length: 5000 }, (_, i) => `${" ".repeat(i + 2)}-`).join("\n")
  }\n${tail}`;
  const map = `source: ${"{a: ".repeat(5000)}1${"}".repeat(5000)}\n${tail}`;
  for (const [text, at] of [[flow, "1:72"], [block, "65:66"], [map, "1:261"]] as const) {
    assert.deepEqual(errors(await parseSpec(text, "spec.yaml")), [
      `${at} lists and mappings nest more than ${MAX_DEPTH} deep`,
    ]);
  }
  // 64 levels are fine as YAML (then the spec's own checks speak).
  const deep = `source: { range: 3 }\nstages: []\nsink: { stdout: text }\nx: ${
    "[".repeat(MAX_DEPTH - 1)
  }${"]".repeat(MAX_DEPTH - 1)}\n`;
  assert.deepEqual(errors(await parseSpec(deep, "spec.yaml")), [
    '4:1 the spec: unknown option "x"; the options are source, stages, sink, options',
  ]);
});

Deno.test("globToRegExp throws a SyntaxError for a class out of order and an unclosed brace", () => {
  assert.throws(
    () => globToRegExp("/d/[z-a]*.ts"),
    (e: unknown) =>
      e instanceof SyntaxError &&
      e.message === "[z-a] is not a class of characters: range out of order in character class",
  );
  assert.throws(
    () => globToRegExp("/d/{a,b"),
    (e: unknown) => e instanceof SyntaxError && e.message === "a { has no } to close it",
  );
  assert.ok(globToRegExp("/d/{a,b}/[!x-z]?").test("/d/b/a1"));
});

Deno.test("a stage's executor: { nats } takes NatsPool.connect's keys; a typo gets the guess code gets", async () => {
  await inFolder(async (dir) => {
    const head = "source: { range: 3 }\nsink: { stdout: jsonl }\nstages:\n" +
      "  - map: ./cli_kernels.ts#double\n";
    const ok = spec(
      await parseSpec(
        `${head}    executor:\n      nats:\n        servers: [nats://10.0.0.1:4222, 10.0.0.2:4222]\n` +
          "        pool: decode\n        ackWaitMs: 5000\n",
        `${dir}/spec.yaml`,
      ),
    );
    assert.deepEqual(ok.stages[0]!.kind === "map" && ok.stages[0]!.executor, {
      nats: {
        servers: ["nats://10.0.0.1:4222", "10.0.0.2:4222"],
        pool: "decode",
        ackWaitMs: 5000,
      },
    });
    const keys = "servers, pool, name, user, pass, token, ackWaitMs, maxDeliver, taskTtlMs";
    const text = [
      "source: { range: 3 }", // 1
      "sink: { stdout: jsonl }", // 2
      "stages:", // 3
      "  - map: ./cli_kernels.ts#double", // 4
      "    executor: { nast: { servers: nats://h:4222, pool: p } }", // 5: did you mean nats
      "  - map: ./cli_kernels.ts#double", // 6
      "    executor:", // 7
      "      nats:", // 8: no servers
      "        server: nats://h:4222", // 9: did you mean servers
      "        pool: two words", // 10: not a pool name
      "        ackWait: 1000", // 11: did you mean ackWaitMs
      "        tokn: secret", // 12: did you mean token
      "        maxDeliver: 0", // 13: not a positive integer
      "  - map: ./cli_kernels.ts#double", // 14
      "    executor: { nats: { servers: [http://h:80, ''], pool: p } }", // 15: not nats://
      "  - map: ./cli_kernels.ts#double", // 16
      "    executor: { nats: nats://h:4222 }", // 17: not a mapping
    ].join("\n");
    assert.deepEqual(errors(await parseSpec(text, `${dir}/spec.yaml`)), [
      '5:17 stages[0].executor: unknown option "nast" (did you mean nats?); the options are nats',
      "8:7 stages[1].executor.nats has no servers",
      `9:9 stages[1].executor.nats: unknown option "server" (did you mean servers?); ` +
      `the options are ${keys}`,
      '10:15 stages[1].executor.nats.pool is "two words"',
      `11:9 stages[1].executor.nats: unknown option "ackWait" (did you mean ackWaitMs?); ` +
      `the options are ${keys}`,
      `12:9 stages[1].executor.nats: unknown option "tokn" (did you mean token?); ` +
      `the options are ${keys}`,
      "13:21 stages[1].executor.nats.maxDeliver is 0",
      '15:35 stages[2].executor.nats.servers has "http://h:80": the scheme is http, not nats or tls',
      '17:23 stages[3].executor.nats is "nats://h:4222"',
    ]);
    // A task carries its deadline as JSON, which has no Infinity; the ack wait is the server's.
    const endless =
      `${head}    executor:\n      nats: { servers: h:4222, pool: p, ackWaitMs: .inf, ` +
      "taskTtlMs: .inf }\n";
    assert.deepEqual(errors(await parseSpec(endless, `${dir}/spec.yaml`)), [
      "6:52 stages[0].executor.nats.ackWaitMs is Infinity",
      "6:69 stages[0].executor.nats.taskTtlMs is Infinity",
    ]);
    // The same typo in code gets the same guess.
    const { NATS_POOL_OPTIONS } = await import("../src/nats/options.ts");
    const { checkOptions } = await import("../src/_internal/options.ts");
    assert.throws(
      () => checkOptions("NatsPool.connect", NATS_POOL_OPTIONS, { ackWait: 1 }),
      /unknown option "ackWait" \(did you mean ackWaitMs\?\)/,
    );
  });
});
