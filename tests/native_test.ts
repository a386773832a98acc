import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { kernel, map, native, nativePool, WorkerPool } from "../mod.ts";
import type { burn as burnKernel } from "./fixtures/native_kernels.ts";
import { buildKernels, KERNELS } from "./_native.ts";

const ENV = "CONVEYOR_TEST_KERNELS_LIB";
const MISSING = "/nonexistent/conveyor/libmissing.so";

Deno.test("native() sum_squares over 1,000,000 doubles equals the same loop in TypeScript", async () => {
  await using built = await buildKernels();
  using lib = native(built.path, KERNELS);
  const xs = new Float64Array(1_000_000);
  for (let i = 0; i < xs.length; i++) xs[i] = Math.sin(i);
  let expected = 0;
  for (let i = 0; i < xs.length; i++) expected += xs[i]! * xs[i]!;
  const sum = await lib.symbols.sum_squares(xs, BigInt(xs.length));
  assert.equal(sum, expected);
  assert.equal(lib.path, built.path);
});

Deno.test("native() opens a file: URL and reports its path", async () => {
  await using built = await buildKernels();
  using lib = native(pathToFileURL(built.path), { inside_now: KERNELS.inside_now });
  assert.equal(lib.path, built.path);
  assert.equal(lib.symbols.inside_now(), 0);
});

Deno.test("native() names the path when the library cannot be opened, with the cause", () => {
  assert.throws(() => native(MISSING, KERNELS), (error: unknown) => {
    assert(error instanceof Error);
    assert.equal(error.constructor, Error);
    assert(error.message.startsWith(`Cannot open native library "${MISSING}": `), error.message);
    assert(error.cause instanceof Error);
    assert(error.message.endsWith(error.cause.message));
    return true;
  });
});

Deno.test("native() names a missing symbol", async () => {
  await using built = await buildKernels();
  assert.throws(
    () =>
      native(built.path, {
        burn: KERNELS.burn,
        no_such_kernel: { parameters: [], result: "void" },
      }),
    (error: unknown) => {
      assert(error instanceof Error);
      assert(error.message.startsWith(`Cannot open native library "${built.path}": `));
      assert.match(error.message, /no_such_kernel/);
      assert(error.cause instanceof Error);
      return true;
    },
  );
});

Deno.test("native() rejects a bad path, symbols, options or definition with a TypeError", async () => {
  const bad: [unknown, unknown, unknown, RegExp][] = [
    [42, KERNELS, undefined, /path must be a non-empty string or a file: URL, got 42/],
    ["", KERNELS, undefined, /path must be a non-empty string or a file: URL, got ""/],
    [null, KERNELS, undefined, /got null/],
    [new URL("https://example.com/lib.so"), KERNELS, undefined, /got https:\/\/example\.com/],
    ["libx.so", null, undefined, /symbols must be an object of definitions, got null/],
    ["libx.so", [], undefined, /symbols must be an object of definitions, got an array/],
    ["libx.so", {}, 5, /options must be an object, got 5/],
    ["libx.so", {}, { env: "" }, /env must be an environment variable name, got ""/],
    ["libx.so", {}, { env: "A=B" }, /env must be an environment variable name/],
  ];
  for (const [path, symbols, options, message] of bad) {
    assert.throws(
      () => native(path as string, symbols as Deno.ForeignLibraryInterface, options as object),
      (error: unknown) => error instanceof TypeError && message.test(error.message),
      String(message),
    );
  }
  await using built = await buildKernels();
  assert.throws(
    () => native(built.path, { burn: { parameters: ["f65"], result: "f64" } } as never),
    (error: unknown) =>
      error instanceof TypeError && error.cause instanceof TypeError &&
      error.message.startsWith(`Cannot open native library "${built.path}": `),
  );
});

Deno.test("native() opens the path in options.env when it is set and not empty", async () => {
  await using built = await buildKernels();
  try {
    Deno.env.set(ENV, built.path);
    using lib = native(MISSING, { inside_now: KERNELS.inside_now }, { env: ENV });
    assert.equal(lib.path, built.path);
    assert.equal(lib.symbols.inside_now(), 0);

    Deno.env.set(ENV, "");
    using direct = native(built.path, { inside_now: KERNELS.inside_now }, { env: ENV });
    assert.equal(direct.path, built.path);

    Deno.env.delete(ENV);
    assert.throws(() => native(MISSING, KERNELS, { env: ENV }), new RegExp(MISSING));
  } finally {
    Deno.env.delete(ENV);
  }
});

Deno.test("native() treats options.env as unset without permission to read it", async () => {
  await using built = await buildKernels();
  const script = `
    import { native } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
    using lib = native(${JSON.stringify(built.path)}, {
      inside_now: { parameters: [], result: "i32" },
    }, { env: ${JSON.stringify(ENV)} });
    console.log(lib.path);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-ffi", "--allow-read", "-"],
    env: { [ENV]: MISSING, NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert(output.success, stderr);
  assert.equal(new TextDecoder().decode(output.stdout).trim(), built.path);
});

Deno.test("native() close() is idempotent, using closes, and calls after close fail", async () => {
  await using built = await buildKernels();
  const lib = native(built.path, KERNELS);
  assert.equal(lib.symbols.burn_sync(1, 10), await lib.symbols.burn(1, 10));
  lib.close();
  lib.close();
  assert.throws(
    () => lib.symbols.inside_now(),
    /Cannot call "inside_now": native library ".*" was closed/,
  );
  await assert.rejects(lib.symbols.burn(1, 10), /Cannot call "burn": native library .* was closed/);

  let escaped: typeof lib | undefined;
  {
    using scoped = native(built.path, KERNELS);
    escaped = scoped;
    assert.equal(scoped.symbols.inside_now(), 0);
  }
  assert.throws(() => escaped.symbols.inside_now(), /was closed/);
  escaped.close();
});

Deno.test("native() close() during a nonblocking call unloads the library after it settles", async () => {
  await using built = await buildKernels();
  const lib = native(built.path, KERNELS);
  const running = lib.symbols.enter_and_wait(2, 100);
  lib.close();
  await assert.rejects(lib.symbols.enter_and_wait(1, 0), /was closed/);
  assert.equal(await running, 1);
});

Deno.test("native() nonblocking symbols under map({ concurrency: 2 }) run two calls at once", async () => {
  await using built = await buildKernels();
  using lib = native(built.path, KERNELS);
  // Each call waits (up to 2 s) until it has overlapped another; 2 means it did.
  const out = await Array.fromAsync(
    ReadableStream.from([2, 2]).pipeThrough(
      map((expected: number) => lib.symbols.enter_and_wait(expected, 2000), { concurrency: 2 }),
    ),
  );
  assert.deepEqual(out, [2, 2]);
  assert.equal(lib.symbols.inside_now(), 0);
});

Deno.test("native() calls run one at a time under concurrency 1, or when blocking", async () => {
  await using built = await buildKernels();
  using lib = native(built.path, KERNELS);
  const one = await Array.fromAsync(
    ReadableStream.from([2, 2, 2]).pipeThrough(
      map((expected: number) => lib.symbols.enter_and_wait(expected, 20), { concurrency: 1 }),
    ),
  );
  assert.deepEqual(one, [1, 1, 1]);
  // A blocking symbol holds the main thread: concurrency cannot overlap it.
  const blocking = await Array.fromAsync(
    ReadableStream.from([2, 2, 2]).pipeThrough(
      map((expected: number) => lib.symbols.enter_and_wait_sync(expected, 20), {
        concurrency: 2,
      }),
    ),
  );
  assert.deepEqual(blocking, [1, 1, 1]);
});

Deno.test("a kernel module that calls a native library runs it on every worker's thread", async () => {
  await using built = await buildKernels();
  using lib = native(built.path, KERNELS);
  const before = Deno.env.get("CONVEYOR_KERNELS_LIB");
  Deno.env.set("CONVEYOR_KERNELS_LIB", built.path);
  try {
    await using pool = new WorkerPool({ size: 2 });
    const burn = kernel<typeof burnKernel>(
      new URL("./fixtures/native_kernels.ts", import.meta.url),
      "burn",
    );
    const sizes = Array.from({ length: 40 }, (_, i) => 1000 * (i + 1));
    const out = await Array.fromAsync(ReadableStream.from(sizes).pipeThrough(pool.map(burn)));
    assert.deepEqual(out, sizes.map((n) => lib.symbols.burn_sync(1, n)));
    assert(pool.stats().workers.every((w) => w.tasksDone > 0), "both workers called it");
  } finally {
    if (before === undefined) Deno.env.delete("CONVEYOR_KERNELS_LIB");
    else Deno.env.set("CONVEYOR_KERNELS_LIB", before);
  }
});

Deno.test("nativePool() runs a library's functions on threads of its own, n at once", async () => {
  await using built = await buildKernels();
  using lib = native(built.path, KERNELS);
  await using pool = nativePool(built.path, {
    burn: KERNELS.burn_sync,
    sum_squares: KERNELS.sum_squares,
    enter_and_wait: KERNELS.enter_and_wait_sync,
  }, { threads: 2 });
  assert.equal(pool.threads, 2);
  const sizes = [1000, 2000, 3000, 4000];
  const out = await Array.fromAsync(
    ReadableStream.from(sizes).pipeThrough(
      map((n: number) => pool.symbols.burn(1, n), { concurrency: 2 }),
    ),
  );
  assert.deepEqual(out, sizes.map((n) => lib.symbols.burn_sync(1, n)));
  const xs = new Float64Array([1, 2, 3]);
  assert.equal(await pool.symbols.sum_squares(xs, 3n), 14);
  // Two calls that each wait (up to 2 s) until two are inside: both see 2.
  assert.deepEqual(
    await Promise.all([pool.symbols.enter_and_wait(2, 2000), pool.symbols.enter_and_wait(2, 2000)]),
    [2, 2],
  );
});

Deno.test("nativePool() fails at once on a missing library, symbol or bad threads, and after close", async () => {
  await using built = await buildKernels();
  assert.throws(
    () => nativePool(MISSING, { burn: KERNELS.burn_sync }),
    /Cannot open native library/,
  );
  assert.throws(
    () => nativePool(built.path, { nope: { parameters: [], result: "void" } }),
    /nope/,
  );
  assert.throws(
    () => nativePool(built.path, { burn: KERNELS.burn_sync }, { threads: 0 }),
    RangeError,
  );
  const pool = nativePool(built.path, { burn: KERNELS.burn_sync }, { threads: 1 });
  assert.equal(typeof await pool.symbols.burn(1, 10), "number");
  await pool.close();
  await pool.close();
  await assert.rejects(pool.symbols.burn(1, 10), /closed/);
});
