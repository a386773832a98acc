import assert from "node:assert/strict";
import { type Kernel, kernel, ProcessPool, WorkerCrashError } from "../mod.ts";
import type * as k from "./fixtures/process_kernels.ts";
import { crunch } from "./fixtures/process_kernels.ts";
import { eventually } from "./_util.ts";

const FIXTURE = new URL("./fixtures/process_kernels.ts", import.meta.url);
const ref = <F extends (...args: never[]) => unknown>(name: string) => kernel<F>(FIXTURE, name);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The process ids of this process's children that run `deno`, from /proc. */
async function childDenos(): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // pid (comm) state ppid ...: comm may hold spaces, so split after ")".
      const [comm, rest] = [
        stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
        stat.slice(stat.lastIndexOf(")") + 2),
      ];
      const ppid = Number(rest.split(" ")[1]);
      if (ppid === Deno.pid && comm.startsWith("deno")) pids.push(Number(entry.name));
    } catch {
      // It exited while we looked.
    }
  }
  return pids;
}

Deno.test("ProcessPool.map() gives the sequential results in order, from child processes", async () => {
  await using pool = new ProcessPool({ size: 2 });
  const out = await Array.fromAsync(
    ReadableStream.from(range(500)).pipeThrough(pool.map(ref<typeof crunch>("crunch"))),
  );
  assert.deepEqual(out, range(500).map(crunch));
  const stats = pool.stats();
  assert.equal(stats.tasksDone, 500);
  assert.equal(stats.workers.length, 2);
  assert(stats.workers.every((w) => w.tasksDone > 0), "both children did work");
  const who = await pool.run(ref<typeof k.whoami>("whoami"), undefined);
  assert.notEqual(who.pid, Deno.pid, "the kernel ran in another process");
  assert.equal(who.worker, false);
  assert(stats.workers.some((w) => w.pid === who.pid), "stats() names the children's pids");
});

Deno.test("ProcessPool round-trips typed arrays, Maps, Dates, BigInts and nested values", async () => {
  await using pool = new ProcessPool({ size: 1 });
  const input = {
    floats: new Float64Array([1.5, -2.25, Math.PI]),
    bytes: new Uint8Array([0, 127, 255]),
    map: new Map<string, unknown>([["a", 1], ["b", new Int32Array([7, -7])]]),
    set: new Set([1, "two"]),
    date: new Date(Date.UTC(2026, 10, 24)),
    big: 2n ** 70n,
    nested: { list: [1, [2, [3]]], missing: undefined, none: null },
  };
  const out = await pool.run(ref<typeof k.echo<typeof input>>("echo"), input);
  assert.deepEqual(out.value, input);
  assert(out.value.floats instanceof Float64Array);
  assert(out.value.map.get("b") instanceof Int32Array);
  assert.deepEqual(out.kinds, [
    "Float64Array",
    "Uint8Array",
    "Map",
    "Set",
    "Date",
    "bigint",
    "Object",
  ]);
});

Deno.test("a kernel that prints to stdout does not break the stream", async () => {
  await using pool = new ProcessPool({ size: 2 });
  const out = await Array.fromAsync(
    ReadableStream.from(range(30)).pipeThrough(pool.map(ref<typeof k.shout>("shout"))),
  );
  assert.deepEqual(out, range(30).map((x) => x + 1));
  assert.equal(pool.stats().crashes, 0);
});

Deno.test("a kernel's own error fails its item with the kernel's message and stack", async () => {
  await using pool = new ProcessPool({ size: 1 });
  const evenOnly = ref<typeof k.evenOnly>("evenOnly");
  const results = await Promise.allSettled(range(6).map((x) => pool.run(evenOnly, x)));
  for (const [i, result] of results.entries()) {
    if (i % 2 === 0) {
      assert.deepEqual(result, { status: "fulfilled", value: i });
      continue;
    }
    assert.equal(result.status, "rejected");
    const error = (result as PromiseRejectedResult).reason;
    assert(error instanceof RangeError, String(error));
    assert.equal(error.message, `odd input ${i}`);
    assert.match(error.stack!, /evenOnly .*process_kernels\.ts/);
  }
  assert.equal(pool.stats().crashes, 0, "a kernel's error is not a crash");
});

Deno.test("a missing module or export in a ProcessPool fails its tasks with an error naming it", async () => {
  await using pool = new ProcessPool({ size: 2 });
  const missing = kernel(new URL("./fixtures/no_such_module.ts", import.meta.url), "work");
  const results = await Promise.allSettled(
    range(3).map((x) => pool.run(missing as Kernel<(x: number) => number>, x)),
  );
  for (const result of results) {
    assert.equal(result.status, "rejected");
    const error = (result as PromiseRejectedResult).reason;
    assert(error instanceof TypeError, String(error));
    assert.match(error.message, /Cannot load kernel "work"/);
    assert.match(error.message, /no_such_module\.ts/);
  }
  await assert.rejects(pool.run(ref<(x: number) => number>("noSuchExport"), 1), (e: unknown) => {
    assert(e instanceof TypeError);
    assert.match(e.message, /has no export "noSuchExport"/);
    assert.match(e.message, /process_kernels\.ts/);
    return true;
  });
  // The pool still works for modules that load.
  assert.equal(await pool.run(ref<typeof crunch>("crunch"), 3), crunch(3));
});

Deno.test("a child killed with SIGKILL while it holds a task: that task fails, the rest come out", async () => {
  const pool = new ProcessPool({ size: 2 });
  try {
    const hang = ref<typeof k.hangOnSeven>("hangOnSeven");
    const settled = Promise.allSettled(range(20).map((x) => pool.run(hang, x)));
    // Everything finishes but item 7 and what its child holds behind it.
    const stuck = () => pool.stats().workers.filter((w) => w.queueLength > 0);
    await eventually(() => {
      const s = pool.stats();
      return s.queued === 0 && stuck().length === 1 && s.tasksDone + stuck()[0]!.queueLength === 20;
    }, "every item but 7 and those behind it to finish");
    Deno.kill(stuck()[0]!.pid!, "SIGKILL");
    const results = await settled;
    for (const [i, result] of results.entries()) {
      if (i !== 7) {
        assert.deepEqual(result, { status: "fulfilled", value: i });
        continue;
      }
      assert.equal(result.status, "rejected");
      const error = (result as PromiseRejectedResult).reason;
      assert(error instanceof WorkerCrashError, String(error));
      assert.match(error.message, /"hangOnSeven" of .*process_kernels\.ts/);
      assert.match(error.message, /SIGKILL/);
    }
    assert.equal(pool.stats().crashes, 1);
    assert.deepEqual(await Promise.all(range(4).map((x) => pool.run(hang, x))), range(4));
    assert.equal(pool.stats().workers.length, 2, "the pool is whole again");
    assert.equal((await childDenos()).length, 2);
  } finally {
    await pool.close();
  }
  assert.deepEqual(await childDenos(), [], "no child process is left");
});

Deno.test("with retries: 1 the task of a killed child runs again and succeeds", async () => {
  const marker = await Deno.makeTempFile();
  await Deno.remove(marker);
  try {
    await using pool = new ProcessPool({
      size: 2,
      permissions: { read: [marker], write: [marker] },
    });
    const hang = ref<typeof k.hangOnceOnSeven>("hangOnceOnSeven");
    const stream = ReadableStream.from(range(20).map((x) => ({ x, marker })))
      .pipeThrough(pool.map(hang, { retries: 1 }));
    const collected = Array.fromAsync(stream);
    // The child that took item 7 writes its pid into the marker, then hangs.
    let pid = 0;
    await eventually(() => {
      try {
        pid = Number(Deno.readTextFileSync(marker));
      } catch {
        return false;
      }
      return pid > 0;
    }, "item 7 to start");
    Deno.kill(pid, "SIGKILL");
    assert.deepEqual(await collected, range(20));
    assert.equal(pool.stats().crashes, 1);
  } finally {
    await Deno.remove(marker).catch(() => {});
  }
});

Deno.test("a child that exits or writes to its real stdout is replaced; only item 7 fails", async () => {
  for (
    const [name, pattern] of [["exitOnSeven", /the kernel called Deno\.exit\(3\)/], [
      "scribbleOnSeven",
      /wrote to stdout: "hello from a kernel/,
    ]] as const
  ) {
    await using pool = new ProcessPool({ size: 2 });
    const work = ref<(x: number) => number>(name);
    const results = await Promise.allSettled(range(12).map((x) => pool.run(work, x)));
    for (const [i, result] of results.entries()) {
      if (i !== 7) {
        assert.deepEqual(result, { status: "fulfilled", value: i }, `${name}: item ${i}`);
        continue;
      }
      const error = (result as PromiseRejectedResult).reason;
      assert(error instanceof WorkerCrashError, `${name}: ${error}`);
      assert.match(error.message, pattern);
    }
    assert.equal(pool.stats().crashes, 1);
  }
});

Deno.test("children get no permissions unless the pool grants them", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "secret");
    const readText = ref<typeof k.readText>("readText");
    {
      await using pool = new ProcessPool({ size: 1 });
      await assert.rejects(pool.run(readText, file), /Requires read access/);
    }
    {
      await using pool = new ProcessPool({ size: 1, permissions: { read: [file] } });
      assert.equal(await pool.run(readText, file), "secret");
    }
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("aborting a running task, or cancelling a stream mid-run, leaves no child behind", async () => {
  const pool = new ProcessPool({ size: 2 });
  try {
    const hang = ref<typeof k.hangOnSeven>("hangOnSeven");
    const controller = new AbortController();
    const stuck = pool.run(hang, 7, { signal: controller.signal });
    await eventually(
      () => pool.stats().workers.some((w) => w.queueLength === 1),
      "the task to start",
    );
    controller.abort(new Error("too slow"));
    await assert.rejects(stuck, /too slow/);

    const reader = ReadableStream.from(range(100)).pipeThrough(pool.map(hang, { concurrency: 4 }))
      .getReader();
    for (let i = 0; i < 7; i++) assert.deepEqual(await reader.read(), { value: i, done: false });
    await reader.cancel("enough");
  } finally {
    await pool.close();
  }
  assert.deepEqual(await childDenos(), [], "no child process is left");
});

Deno.test("ProcessPool rejects bad options with a clear message", () => {
  assert.throws(() => new ProcessPool({ size: 0 }), RangeError);
  assert.throws(
    () => new ProcessPool({ permissions: { disk: true } as never }),
    /unknown permission "disk"/,
  );
  assert.throws(
    () => new ProcessPool({ permissions: { read: "yes" as never } }),
    /permission "read" must be a boolean or an array/,
  );
});

Deno.test("a ProcessPool that may not start processes fails its tasks with the reason, never hangs", async () => {
  const script = new URL("./fixtures/process_pool_no_run.ts", import.meta.url);
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--no-prompt", script.href],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  assert.equal(code, 0);
  assert.equal(lines.length, 2);
  for (const line of lines) {
    assert.match(line, /^rejected: Cannot start a ProcessPool worker: .*run/i);
  }
});
