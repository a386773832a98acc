// The command line under faults, run as a subprocess: a url sink whose
// server stops reading, a sink that is the source, hostile specs, and Ctrl-C
// while a kernel blocks the main thread.

import assert from "node:assert/strict";
import { MAX_STAGES } from "../src/config/_parse_spec.ts";
import { CLI, cli, command, exists, inFolder } from "./_cli.ts";

/** No stack trace: no `    at ` line, no "Uncaught". */
function assertNoStackTrace(text: string): void {
  assert.doesNotMatch(text, /^\s+at /m, text);
  assert.doesNotMatch(text, /Uncaught/, text);
}

Deno.test("cli run exits 1 when the url sink's server answers before it has the whole body, saying how many items were sent", async () => {
  // One server answers at once without reading; the other reads a little first.
  for (const readFirst of [false, true]) {
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        if (readFirst) {
          const reader = request.body!.getReader();
          await reader.read();
          reader.releaseLock();
        }
        return new Response("ok");
      },
    );
    const url = `http://127.0.0.1:${server.addr.port}/ingest`;
    // A source the pipeline cannot drain before the answer comes.
    await inFolder({
      "spec.yaml": `source: { range: 1000000000000 }\nstages: []\nsink: { url: "${url}" }\n`,
    }, async (dir) => {
      const ran = await cli(dir, ["run", "spec.yaml", "--no-progress", "--no-stats"]);
      assert.equal(ran.code, 1, ran.stderr);
      const said = ran.stderr.match(
        /^error: POST (\S+) answered 200 OK before it had the whole body: (\d+) items? sent, and the pipeline had more/m,
      );
      assert(said, ran.stderr);
      assert.equal(said[1], url);
      assert.ok(Number(said[2]) < 1e12);
      assertNoStackTrace(ran.stderr);
    });
  }
});

Deno.test("cli run names the url when the url sink's connection is refused", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // nothing listens there now
  const url = `http://127.0.0.1:${port}/ingest`;
  await inFolder({
    "spec.yaml": `source: { range: 10 }\nstages: []\nsink: { url: "${url}" }\n`,
  }, async (dir) => {
    const ran = await cli(dir, ["run", "spec.yaml", "--no-progress", "--no-stats"]);
    assert.equal(ran.code, 1, ran.stderr);
    assert.match(
      ran.stderr,
      new RegExp(`^error: POST ${url.replaceAll(".", "\\.")} failed: .*refused`, "mi"),
    );
    assertNoStackTrace(ran.stderr);
  });
});

Deno.test("cli validate and run reject a spec whose sink is its source, exit 2, naming both, and the file is intact", async () => {
  const input = "1\n2\n3\n";
  await inFolder({
    "in.jsonl": input,
    "same.yaml": "source: { jsonl: ./in.jsonl }\nstages: []\nsink: { jsonl: ./in.jsonl }\n",
    "link.yaml":
      "source: { jsonl: ./link.jsonl }\nstages: []\nsink: { text: ./data/../in.jsonl }\n",
    "glob.yaml": 'source: { glob: "./*.jsonl" }\nstages: []\nsink: { text: ./out.jsonl }\n',
  }, async (dir) => {
    await Deno.mkdir(`${dir}/data`);
    await Deno.symlink(`${dir}/in.jsonl`, `${dir}/link.jsonl`);
    const cases = [
      ["same.yaml", "3:16", `sink.jsonl ${dir}/in.jsonl`, `source.jsonl \\(${dir}/in.jsonl\\)`],
      ["link.yaml", "3:15", `sink.text ${dir}/in.jsonl`, `source.jsonl \\(${dir}/link.jsonl\\)`],
      [
        "glob.yaml",
        "3:15",
        `sink.text ${dir}/out.jsonl`,
        `source.glob \\(it matches "${dir}/\\*.jsonl"\\)`,
      ],
    ];
    for (const [spec, at, sink, source] of cases) {
      for (const command of ["validate", "run"]) {
        const ran = await cli(dir, [command, spec!, "--no-progress"]);
        assert.equal(ran.code, 2, `${command} ${spec}: ${ran.stderr}`);
        assert.match(
          ran.stderr,
          new RegExp(
            `^${spec}:${at}: ${sink} is also read by ${source}: the run would destroy its own input`,
            "m",
          ),
        );
        assert.match(ran.stderr, new RegExp(`1 mistake in ${spec}; nothing ran`));
      }
    }
    assert.equal(await Deno.readTextFile(`${dir}/in.jsonl`), input);
    assert.equal(await exists(`${dir}/out.jsonl`), false);
  });
});

Deno.test("cli run refuses a file sink that standard input reads, exit 2, and the file is intact", async () => {
  const input = "1\n2\n3\n";
  await inFolder({
    "out.jsonl": input,
    "spec.yaml": "source: { stdin: jsonl }\nstages: []\nsink: { jsonl: ./out.jsonl }\n",
  }, async (dir) => {
    const output = await new Deno.Command("sh", {
      args: ["-c", `exec "$0" run --quiet -A "$1" run spec.yaml < out.jsonl`, Deno.execPath(), CLI],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2, stderr);
    assert.match(
      stderr,
      new RegExp(
        `sink\\.jsonl ${dir}/out\\.jsonl is also standard input, which source\\.stdin reads`,
      ),
    );
    assert.equal(await Deno.readTextFile(`${dir}/out.jsonl`), input);
  });
});

Deno.test("cli exits 2 with a position on hostile specs, never with a stack trace", async () => {
  const deepSeq = "[".repeat(5000) + "]".repeat(5000);
  const deepMap = "{a: ".repeat(5000) + "1" + "}".repeat(5000);
  const blockSeq = Array.from({ length: 5000 }, (_, i) => `${" ".repeat(i + 2)}-`).join("\n");
  const blockMap = Array.from({ length: 5000 }, (_, i) => `${" ".repeat(i + 2)}a:`).join("\n");
  const tail = "stages: []\nsink: { stdout: text }\n";
  const stages = "  - aggregate: 1\n".repeat(MAX_STAGES + 1);
  const cases: [string, string, RegExp][] = [
    [`source: ${deepSeq}\n${tail}`, "1:72", /lists and mappings nest more than 64 deep/],
    [`source: ${deepMap}\n${tail}`, "1:261", /lists and mappings nest more than 64 deep/],
    [`source:\n${blockSeq}\n${tail}`, "65:66", /lists and mappings nest more than 64 deep/],
    [`source:\n${blockMap}\n${tail}`, "65:66", /lists and mappings nest more than 64 deep/],
    [
      `source: { glob: "./[z-a]*.ts" }\n${tail}`,
      "1:17",
      /source\.glob "\.\/\[z-a\]\*\.ts" is not a glob: \[z-a\] is not a class of characters: range out of order/,
    ],
    [
      `source: { glob: "./{a,b" }\n${tail}`,
      "1:17",
      /source\.glob "\.\/\{a,b" is not a glob: a \{ has no \} to close it/,
    ],
    ["just a string\n", "1:1", /the spec is "just a string" \(expected a mapping with keys source/],
    ["42\n", "1:1", /the spec is 42 \(expected a mapping/],
    [
      `source: { range: 3 }\nsink: { stdout: text }\nstages:\n${stages}`,
      `${3 + MAX_STAGES + 1}:5`,
      new RegExp(
        `stages has ${MAX_STAGES + 1} stages, more than the limit of ${MAX_STAGES} ` +
          `\\(expected at most ${MAX_STAGES} stages`,
      ),
    ],
  ];
  for (const [text, at, message] of cases) {
    await inFolder({ "spec.yaml": text }, async (dir) => {
      for (const command of ["validate", "run"]) {
        const ran = await cli(dir, [command, "spec.yaml", "--no-progress"]);
        const what = `${command} ${text.slice(0, 40)}: ${ran.stderr}`;
        assert.equal(ran.code, 2, what);
        const first = ran.stderr.split("\n")[0]!;
        assert.equal(first.split(":").slice(1, 3).join(":"), at, what);
        assert.match(first, message);
        assertNoStackTrace(ran.stderr);
      }
    });
  }
});

Deno.test("cli run refuses a --trace file whose folder does not exist before the run starts", async () => {
  await inFolder({
    "in.jsonl": "1\n2\n",
    "spec.yaml":
      "source: { jsonl: ./in.jsonl }\nstages:\n  - map: ./cli_fault_kernels.ts#readNow\n" +
      "    executor: main\nsink: { jsonl: ./out.jsonl }\n",
  }, async (dir) => {
    const ran = await cli(dir, ["run", "spec.yaml", "--trace", "no/such/folder/trace.json"]);
    assert.equal(ran.code, 2, ran.stderr);
    assert.equal(
      ran.stderr,
      `error: --trace no/such/folder/trace.json: the folder ${dir}/no/such/folder does not exist; ` +
        "nothing ran\n",
    );
    assert.equal(await exists(`${dir}/out.jsonl`), false);
    const ontoInput = await cli(dir, ["run", "spec.yaml", "--trace", "in.jsonl"]);
    assert.equal(ontoInput.code, 2, ontoInput.stderr);
    assert.match(ontoInput.stderr, /--trace .*in\.jsonl is also read by source\.jsonl/);
    assert.equal(await Deno.readTextFile(`${dir}/in.jsonl`), "1\n2\n");
  });
});

// ---- Ctrl-C ----

/** The text of a stream as it comes, and a wait for a pattern in it. */
class Watched {
  text = "";
  readonly done: Promise<void>;
  #waiting: { pattern: RegExp; resolve: () => void }[] = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        this.text += chunk;
        const [met, waiting] = partition(this.#waiting, (w) => w.pattern.test(this.text));
        this.#waiting = waiting;
        for (const w of met) w.resolve();
      }
    })();
  }

  /** Resolves when the text matches `pattern`; rejects if the stream ends first. */
  async until(pattern: RegExp): Promise<void> {
    if (pattern.test(this.text)) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiting.push({ pattern, resolve });
    await Promise.race([
      promise,
      this.done.then(() => {
        if (!pattern.test(this.text)) {
          throw new Error(`the stream ended without ${pattern}:\n${this.text}`);
        }
      }),
    ]);
  }
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((item) => !test(item))];
}

/** The processes below `root`, from /proc. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      parents.set(Number(entry.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // It ended while we looked.
    }
  }
  const found: number[] = [];
  for (let i = -1; i < found.length; i++) {
    const parent = i === -1 ? root : found[i];
    for (const [pid, ppid] of parents) if (ppid === parent) found.push(pid);
  }
  return found;
}

/** Whether a process runs: it is in /proc and not a zombie (dead, waiting to be reaped). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Rows for the Ctrl-C specs: `{ id, marker }`, the marker a file in `dir`. */
function rows(dir: string, n: number): string {
  return Array.from(
    { length: n },
    (_, id) => `${JSON.stringify({ id, marker: `${dir}/busy.txt` })}\n`,
  )
    .join("");
}

// Row 0 waits on the main thread until a child of the process pool is busy
// for good with row 1 (or later), then blocks the main thread for good.
const BLOCKING_SPEC = `source: { jsonl: ./rows.jsonl }
stages:
  - map: ./cli_fault_kernels.ts#gate
    executor: main
    concurrency: 2
    outputOrder: completion
  - map: ./cli_fault_kernels.ts#holdChild
    executor: processes
    concurrency: 2
sink: { jsonl: ./out.jsonl }
options:
  numThreads: 2
  processPermissions: { write: [./] }
`;

/**
 * Runs `spec` in the background until `ready` shows on its stderr, then
 * hands it to `interrupt`. Kills whatever is left at the end.
 */
async function interrupted(
  spec: string,
  ready: RegExp,
  interrupt: (cli: Deno.ChildProcess, stderr: Watched, children: number[]) => Promise<void>,
  args: string[] = ["--no-progress"],
): Promise<void> {
  await inFolder({ "spec.yaml": spec }, async (dir) => {
    await Deno.writeTextFile(`${dir}/rows.jsonl`, rows(dir, 20));
    const child = command(dir, ["run", "spec.yaml", ...args]).spawn();
    const stderr = new Watched(child.stderr);
    const stdout = new Response(child.stdout).text();
    let children: number[] = [];
    try {
      await stderr.until(ready);
      children = descendants(child.pid);
      await interrupt(child, stderr, children);
    } finally {
      // Whatever is left, also after a failure: the CLI and every process below it.
      const left = new Set([...descendants(child.pid), ...children, child.pid]);
      for (const pid of left) {
        try {
          if (alive(pid)) Deno.kill(pid, "SIGKILL");
        } catch {
          // Gone already.
        }
      }
      await child.status;
      await stderr.done;
      await stdout;
    }
  });
}

Deno.test("cli run: Ctrl-C while a kernel blocks the main thread ends the run after the grace period, exit 130, no child left", async () => {
  await interrupted(BLOCKING_SPEC, /blocking the main thread/, async (cli, stderr, children) => {
    assert.ok(children.length > 0, "the process pool has no child");
    cli.kill("SIGINT");
    const status = await cli.status;
    await stderr.done;
    assert.equal(status.code, 130, stderr.text);
    assert.match(stderr.text, /interrupted: stopping the run \(Ctrl-C again to exit at once\)/);
    assert.match(stderr.text, /the run did not stop within 3 s: exiting now/);
    assert.deepEqual(children.filter(alive), [], "children left running");
  });
});

Deno.test("cli run: a second Ctrl-C while a kernel blocks the main thread exits at once, exit 130, no child left", async () => {
  await interrupted(BLOCKING_SPEC, /blocking the main thread/, async (cli, stderr, children) => {
    assert.ok(children.length > 0, "the process pool has no child");
    cli.kill("SIGINT");
    await stderr.until(/Ctrl-C again to exit at once/);
    cli.kill("SIGINT");
    const status = await cli.status;
    await stderr.done;
    assert.equal(status.code, 130, stderr.text);
    assert.match(stderr.text, /interrupted again: exiting now/);
    assert.deepEqual(children.filter(alive), [], "children left running");
  });
});

Deno.test("cli run: Ctrl-C with the main thread free stops the run, prints the statistics, exit 130, no child left", async () => {
  const spec = `source: { jsonl: ./rows.jsonl }
stages:
  - map: ./cli_fault_kernels.ts#passOn
    executor: processes
    outputOrder: input
    name: pass
  - map: ./cli_fault_kernels.ts#waitMain
    executor: main
sink: { jsonl: ./out.jsonl }
options: { numThreads: 2 }
`;
  await interrupted(spec, /waiting on row 0/, async (cli, stderr, children) => {
    assert.ok(children.length > 0, "the process pool has no child");
    cli.kill("SIGINT");
    const status = await cli.status;
    await stderr.done;
    assert.equal(status.code, 130, stderr.text);
    assert.match(stderr.text, /^progress: .* \(interrupted\)$/m);
    assert.match(stderr.text, /stage\s+kind/);
    assert.doesNotMatch(stderr.text, /exiting now/);
    assert.deepEqual(children.filter(alive), [], "children left running");
  }, ["--progress"]);
});
