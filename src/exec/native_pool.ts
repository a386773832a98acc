/**
 * `nativePool()`: a library's functions on threads of their own.
 *
 * @module
 */

import { kernel } from "./kernel.ts";
import { native, type NativeOptions } from "./native.ts";
import { checkOptions } from "../_internal/options.ts";
import { MAX_POOL_SIZE, NATIVE_POOL_OPTIONS } from "./options.ts";
import type { callNative } from "./_native_host.ts";
import { WorkerPool } from "./worker_pool.ts";

const CALL = kernel<typeof callNative>(new URL("./_native_host.ts", import.meta.url), "callNative");

/**
 * Options of `nativePool()`: `threads`, and `env` as for `native()`.
 *
 * @example Two threads
 * ```ts
 * import { nativePool, type NativePoolOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const os = Deno.build.os;
 * const libc = os === "darwin" ? "libSystem.dylib" : os === "windows" ? "msvcrt.dll" : "libc.so.6";
 * const options: NativePoolOptions = { threads: 2 };
 * await using lib = nativePool(libc, { abs: { parameters: ["i32"], result: "i32" } }, options);
 * assert.equal(lib.threads, 2);
 * assert.equal(await lib.symbols.abs(-4), 4);
 * ```
 */
export interface NativePoolOptions extends NativeOptions {
  /**
   * How many threads call the library at once, at most 1024.
   *
   * @default {navigator.hardwareConcurrency}
   */
  threads?: number;
}

/**
 * The functions of a library as `nativePool()` gives them: each returns a
 * promise. Statics are left out.
 *
 * @typeParam S The symbols' definitions, as `Deno.dlopen` takes them.
 *
 * @example A blocking C function, awaited
 * ```ts
 * import { type AsyncSymbols, nativePool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const os = Deno.build.os;
 * const libc = os === "darwin" ? "libSystem.dylib" : os === "windows" ? "msvcrt.dll" : "libc.so.6";
 * const symbols = { abs: { parameters: ["i32"], result: "i32" } } as const;
 * await using lib = nativePool(libc, symbols, { threads: 1 });
 * const { abs }: AsyncSymbols<typeof symbols> = lib.symbols;
 * const result: Promise<number> = abs(-5);
 * assert.equal(await result, 5);
 * ```
 */
export type AsyncSymbols<S extends Deno.ForeignLibraryInterface> = {
  readonly [K in keyof S as S[K] extends Deno.ForeignFunction ? K : never]: (
    ...args: Parameters<Extract<Deno.DynamicLibrary<S>["symbols"][K], (...a: never[]) => unknown>>
  ) => Promise<
    Awaited<ReturnType<Extract<Deno.DynamicLibrary<S>["symbols"][K], (...a: never[]) => unknown>>>
  >;
};

/**
 * A library whose functions run on a pool of worker threads, as
 * `nativePool()` returns it.
 *
 * @typeParam S The symbols' definitions.
 *
 * @example Code that takes a pooled library; calls fail once it is closed
 * ```ts
 * import { type NativePool, nativePool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const os = Deno.build.os;
 * const libc = os === "darwin" ? "libSystem.dylib" : os === "windows" ? "msvcrt.dll" : "libc.so.6";
 * const symbols = { abs: { parameters: ["i32"], result: "i32" } } as const;
 * const absAll = (lib: NativePool<typeof symbols>, xs: number[]) =>
 *   Promise.all(xs.map((x) => lib.symbols.abs(x)));
 * await using lib = nativePool(libc, symbols, { threads: 2 });
 * assert.deepEqual(await absAll(lib, [-1, 2, -3]), [1, 2, 3]);
 * await lib.close();
 * await assert.rejects(lib.symbols.abs(-1), /was closed/);
 * ```
 */
export interface NativePool<S extends Deno.ForeignLibraryInterface> extends AsyncDisposable {
  /** The library's functions; each call runs on one of the pool's threads. */
  readonly symbols: AsyncSymbols<S>;
  /** The path that was opened. */
  readonly path: string;
  /** How many threads. */
  readonly threads: number;
  /**
   * Stops the threads; calls not finished reject. Idempotent.
   *
   * @returns When the threads are gone.
   */
  close(): Promise<void>;
}

/**
 * Opens a shared library on a pool of `threads` worker threads, each of
 * which calls the functions synchronously. Unlike `nonblocking` symbols,
 * whose pooled threads sleep between calls, these threads stay busy while
 * calls queue, so short calls (a few ms) scale with the cores: on 2 cores a
 * 2 ms function runs about twice as fast with 2 threads as with 1, where
 * `nonblocking` symbols reach about 1.5×. Arguments are copied to the
 * thread (numbers, bigints, typed arrays); a C function that writes into a
 * buffer must get one backed by a `SharedArrayBuffer` for the caller to see
 * the writes. Results are numbers, bigints or nothing (no pointers). The
 * library is opened here once first, so a missing library or symbol fails
 * at once. Needs `--allow-ffi`.
 *
 * @typeParam S The symbols' definitions, as `Deno.dlopen` takes them.
 * @param path The library's path or `file:` URL.
 * @param symbols The functions to load.
 * @param options `threads`, and `env` as for `native()`.
 * @returns The library, with every function async.
 * @throws {TypeError} When an argument has the wrong type.
 * @throws {RangeError} When `threads` is not a positive integer up to 1024.
 * @throws {Error} When the library cannot be opened or a symbol is missing.
 *
 * @example The C library's abs(), on two threads
 * ```ts
 * import { nativePool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const os = Deno.build.os;
 * const libc = os === "darwin" ? "libSystem.dylib" : os === "windows" ? "msvcrt.dll" : "libc.so.6";
 * await using lib = nativePool(libc, { abs: { parameters: ["i32"], result: "i32" } }, { threads: 2 });
 * assert.deepEqual(await Promise.all([-1, -2, 3].map((x) => lib.symbols.abs(x))), [1, 2, 3]);
 * ```
 */
export function nativePool<const S extends Deno.ForeignLibraryInterface>(
  path: string | URL,
  symbols: S,
  options: NativePoolOptions = {},
): NativePool<S> {
  const { threads: size = Math.min(navigator.hardwareConcurrency, MAX_POOL_SIZE), ...rest } =
    checkOptions("Cannot open native pool", NATIVE_POOL_OPTIONS, options);
  // Opened here first: a missing library or symbol fails now, with native()'s errors.
  let opened: string;
  {
    using lib = native(path, symbols, rest);
    opened = lib.path;
  }
  const pool = new WorkerPool({ size, name: "native" });
  const calls: Record<string, unknown> = {};
  for (const [name, definition] of Object.entries(symbols)) {
    if (!("parameters" in definition)) continue; // a static, not a function
    const fn = definition as Deno.ForeignFunction;
    calls[name] = (...args: unknown[]) =>
      pool.run(CALL, { path: opened, name, definition: fn, args });
  }
  return {
    symbols: Object.freeze(calls) as AsyncSymbols<S>,
    path: opened,
    threads: size,
    close: () => pool.close(),
    [Symbol.asyncDispose]: () => pool.close(),
  };
}
