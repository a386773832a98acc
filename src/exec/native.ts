/**
 * `native()`: functions of a shared library (C, Rust, Zig...) through Deno's
 * FFI, the executor for code that runs without the JavaScript lock.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { checkOptions } from "../_internal/options.ts";
import { show } from "../_internal/validate.ts";
import { NATIVE_OPTIONS } from "./options.ts";

/**
 * Options of `native()`.
 *
 * @example A path that the environment can override
 * ```ts
 * import { native, type NativeOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const os = Deno.build.os;
 * const libc = os === "darwin" ? "libSystem.dylib" : os === "windows" ? "msvcrt.dll" : "libc.so.6";
 * Deno.env.set("CONVEYOR_LIBC", libc);
 * const options: NativeOptions = { env: "CONVEYOR_LIBC" };
 * using lib = native("libmissing.so", { abs: { parameters: ["i32"], result: "i32" } }, options);
 * Deno.env.delete("CONVEYOR_LIBC");
 * assert.equal(lib.path, libc);
 * assert.equal(lib.symbols.abs(-3), 3);
 * ```
 */
export interface NativeOptions {
  /**
   * The name of an environment variable that overrides the path: when it is set and not empty, its
   * value is the library opened. Without permission to read it, it counts as unset.
   *
   * @default {undefined (no override)}
   */
  env?: string;
}

/**
 * An open shared library, as `native()` returns it.
 *
 * @typeParam S The symbols' definitions, as `Deno.dlopen` takes them.
 *
 * @example Code that takes an open library; calls fail once it is closed
 * ```ts
 * import { native, type NativeLibrary } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const os = Deno.build.os;
 * const libc = os === "darwin" ? "libSystem.dylib" : os === "windows" ? "msvcrt.dll" : "libc.so.6";
 * const symbols = { abs: { parameters: ["i32"], result: "i32" } } as const;
 * const absAll = (lib: NativeLibrary<typeof symbols>, xs: number[]) => xs.map((x) => lib.symbols.abs(x));
 * using lib = native(libc, symbols);
 * assert.deepEqual(absAll(lib, [-1, 2, -3]), [1, 2, 3]);
 * lib.close();
 * assert.throws(() => lib.symbols.abs(-1), /was closed/);
 * ```
 */
export interface NativeLibrary<S extends Deno.ForeignLibraryInterface> extends Disposable {
  /**
   * The library's functions, typed as in `Deno.DynamicLibrary`: those
   * defined with `nonblocking: true` run on a native thread and return a
   * promise, so several can run at once while JavaScript goes on. After
   * `close()` a call throws (a nonblocking one rejects) instead of reaching
   * unloaded code.
   */
  readonly symbols: Deno.DynamicLibrary<S>["symbols"];
  /** The path that was opened: the environment override's value when it applied. */
  readonly path: string;
  /**
   * Closes the library; calling it again does nothing. New calls fail at
   * once; the library is unloaded when the last call in flight settles.
   */
  close(): void;
}

/**
 * Opens a shared library with `Deno.dlopen` and returns its symbols, for
 * CPU-bound kernels that run in parallel: a symbol defined with
 * `nonblocking: true` runs on a native thread and returns a promise, so
 * `map((x) => lib.symbols.f(x), { concurrency: n })` keeps n native calls
 * running at once while the event loop goes on. Needs `--allow-ffi` (and
 * `--allow-env` for `options.env`).
 *
 * @typeParam S The symbols' definitions, as `Deno.dlopen` takes them.
 * @param path The library's path (a bare name such as `"libc.so.6"` is looked up by the system), or a `file:` URL.
 * @param symbols The functions and statics to load, as `Deno.dlopen` takes them.
 * @param options `env`: an environment variable that overrides `path`.
 * @returns The open library.
 * @throws {TypeError} When `path`, `symbols` or `options` has the wrong type, or a symbol's definition is invalid.
 * @throws {Error} When the library cannot be opened or a symbol is missing: `Cannot open native library "<path>": ...`, with Deno's error as `cause`.
 *
 * @example Calling into the C library, blocking and nonblocking
 * ```ts
 * import { native } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const os = Deno.build.os;
 * const libc = os === "darwin" ? "libSystem.dylib" : os === "windows" ? "msvcrt.dll" : "libc.so.6";
 * using lib = native(libc, {
 *   abs: { parameters: ["i32"], result: "i32" },
 *   strlen: { parameters: ["buffer"], result: "usize", nonblocking: true },
 * });
 * assert.equal(lib.symbols.abs(-7), 7);
 * assert.equal(await lib.symbols.strlen(new TextEncoder().encode("conveyor\0")), 8n);
 * ```
 */
export function native<const S extends Deno.ForeignLibraryInterface>(
  path: string | URL,
  symbols: S,
  options: NativeOptions = {},
): NativeLibrary<S> {
  let file: string;
  if (path instanceof URL) {
    if (path.protocol !== "file:") {
      throw new TypeError(
        `Cannot open native library: path must be a non-empty string or a file: URL, got ${path.href}`,
      );
    }
    file = fileURLToPath(path);
  } else if (typeof path === "string" && path !== "") {
    file = path;
  } else {
    throw new TypeError(
      `Cannot open native library: path must be a non-empty string or a file: URL, got ${
        show(path)
      }`,
    );
  }
  if (symbols === null || typeof symbols !== "object" || Array.isArray(symbols)) {
    throw new TypeError(
      `Cannot open native library "${file}": symbols must be an object of definitions, got ${
        show(symbols)
      }`,
    );
  }
  const { env } = checkOptions(`Cannot open native library "${file}"`, NATIVE_OPTIONS, options);
  if (env !== undefined && !/^[^=\0]+$/.test(env)) {
    throw new TypeError(
      `Cannot open native library "${file}": env must be an environment variable name, got ${
        show(env)
      }`,
    );
  }
  if (env !== undefined) file = readEnv(env) ?? file;
  let library: Deno.DynamicLibrary<S>;
  try {
    library = Deno.dlopen(file, symbols);
  } catch (cause) {
    const message = `Cannot open native library "${file}": ${
      cause instanceof Error ? cause.message : String(cause)
    }`;
    throw cause instanceof TypeError
      ? new TypeError(message, { cause })
      : new Error(message, { cause });
  }
  return new OpenLibrary(library, symbols, file);
}

/** The variable's value; `undefined` when unset, empty, or not permitted. */
function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw error;
  }
}

class OpenLibrary<S extends Deno.ForeignLibraryInterface> implements NativeLibrary<S> {
  readonly symbols: Deno.DynamicLibrary<S>["symbols"];
  readonly path: string;
  #library: Deno.DynamicLibrary<S>;
  #closed = false;
  #calls = 0;

  constructor(library: Deno.DynamicLibrary<S>, definitions: S, path: string) {
    this.#library = library;
    this.path = path;
    const wrapped: Record<string, unknown> = {};
    for (const [name, symbol] of Object.entries(library.symbols)) {
      const definition = definitions[name];
      const nonblocking = definition !== undefined && "nonblocking" in definition &&
        definition.nonblocking === true;
      wrapped[name] = typeof symbol === "function"
        ? this.#guard(name, symbol, nonblocking)
        : symbol;
    }
    this.symbols = Object.freeze(wrapped) as Deno.DynamicLibrary<S>["symbols"];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#calls === 0) this.#library.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // Fails calls after close() (a nonblocking one with a rejected promise),
  // and counts the calls in flight so that the library is unloaded only once
  // none is running its code.
  #guard(
    name: string,
    fn: (...args: unknown[]) => unknown,
    nonblocking: boolean,
  ): (...args: unknown[]) => unknown {
    const release = (): void => {
      if (--this.#calls === 0 && this.#closed) this.#library.close();
    };
    return (...args: unknown[]): unknown => {
      if (this.#closed) {
        const error = new Error(
          `Cannot call "${name}": native library "${this.path}" was closed`,
        );
        if (nonblocking) return Promise.reject(error);
        throw error;
      }
      this.#calls++;
      let result: unknown;
      try {
        result = fn(...args);
      } catch (error) {
        release();
        throw error;
      }
      if (nonblocking) return (result as Promise<unknown>).finally(release);
      release();
      return result;
    };
  }
}
