/**
 * `ProcessPool`: kernels in a pool of `deno` child processes.
 *
 * @module
 */

import * as check from "../_internal/validate.ts";
import { checkOptions } from "../_internal/options.ts";
import { LocalPool } from "./local_pool.ts";
import { PROCESS_POOL_OPTIONS } from "./options.ts";
import { PoolCore } from "./_pool_core.ts";
import { permissionFlags, type PermissionList, processLinks } from "./_process_link.ts";
import type { PoolOptions } from "./pool_types.ts";

/**
 * What a ProcessPool's children may do, as `deno run --allow-*` flags: `true`
 * grants all of a kind, a list grants those paths, hosts or names. Nothing is
 * granted by default: kernel modules are loaded as code before the child
 * starts (like static imports), so they need no read permission.
 *
 * @example All of the environment, some of the network; a misspelt kind is refused
 * ```ts
 * import { type ProcessPermissions, ProcessPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const permissions: ProcessPermissions = { env: true, net: ["localhost:8000"] };
 * await using pool = new ProcessPool({ size: 1, permissions });
 * assert.equal(pool.stats().workers.length, 0); // children start with the first task
 * const misspelt = { enf: true } as ProcessPermissions;
 * assert.throws(() => new ProcessPool({ permissions: misspelt }), /unknown permission "enf"/);
 * ```
 */
export interface ProcessPermissions {
  /** `--allow-read`. */
  read?: PermissionList;
  /** `--allow-write`. */
  write?: PermissionList;
  /** `--allow-net`. */
  net?: PermissionList;
  /** `--allow-env`. */
  env?: PermissionList;
  /** `--allow-run`. */
  run?: PermissionList;
  /** `--allow-ffi`. */
  ffi?: PermissionList;
  /** `--allow-sys`. */
  sys?: PermissionList;
  /** `--allow-import` (remote modules a kernel imports at run time). */
  import?: PermissionList;
}

export type { PermissionList };

/**
 * Options of `new ProcessPool()`: those of every pool, and the children's permissions.
 *
 * @example One child process that may read one variable
 * ```ts
 * import { kernel, ProcessPool, type ProcessPoolOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * const options: ProcessPoolOptions = { size: 1, name: "sandboxed", permissions: { env: ["HOME"] } };
 * await using pool = new ProcessPool(options);
 * assert.equal(await pool.run(square, 4), 16);
 * const [child] = pool.stats().workers;
 * assert.equal(typeof child?.pid, "number"); // a process, not a Web Worker
 * ```
 */
export interface ProcessPoolOptions extends PoolOptions {
  /**
   * What the children may do.
   *
   * @default {{}}
   */
  permissions?: ProcessPermissions;
}

/** The permission kinds a ProcessPool grants, as `--allow-<kind>`. */
export const PERMISSION_KINDS = ["read", "write", "net", "env", "run", "ffi", "sys", "import"];

/**
 * A pool of `deno` child processes that run kernels: a `LocalPool`, as
 * `WorkerPool` is, for work that needs its own process (a separate heap, a
 * native library that is not thread-safe, a crash that must not take the
 * main process down, least privilege). Each child runs
 * `Deno.execPath()` with the kernel modules preloaded and only the
 * permissions given; inputs and results travel framed over its stdin and
 * stdout, serialized with V8's structured serializer (`node:v8`), so typed
 * arrays, `Map`s, `Date`s and errors survive (`transfer` is accepted and
 * has no effect: everything is copied). A kernel's `console.log`
 * goes to the child's stderr; the child's stdin is the pool's, so reading
 * it (`Deno.stdin`, node's `process.stdin`) throws, and a process the
 * kernel starts gets no stdin. Children start with the first task; one
 * that exits (`Deno.exit()`, `close()`), is killed or writes to its stdout
 * itself is replaced, and the task it was running fails with
 * `WorkerCrashError` (or runs again, with `retries`). The parent needs
 * `--allow-run` (and read access to find the `deno` executable).
 *
 * @example Squares in two child processes
 * ```ts
 * import { kernel, ProcessPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * await using pool = new ProcessPool({ size: 2 });
 * const out = ReadableStream.from([1, 2, 3]).pipeThrough(pool.map(square));
 * assert.deepEqual(await Array.fromAsync(out), [1, 4, 9]);
 * ```
 */
export class ProcessPool extends LocalPool {
  /**
   * Makes the pool; children start with the first task. A kernel of a
   * module the children have not loaded yet replaces them, as they become
   * idle, with children that load it too.
   *
   * @param options `size`, `name`, `maxQueue`, `maxBatch`, `idleTimeout`, `permissions`.
   * @throws {RangeError} When a number is out of range.
   * @throws {TypeError} When an option or permission is unknown or has the wrong type.
   */
  constructor(options?: ProcessPoolOptions) {
    const o = checkOptions("Cannot create ProcessPool", PROCESS_POOL_OPTIONS, options);
    super(new PoolCore(processLinks(permissionFlagsOf(o.permissions)), o));
  }
}

/** Checks `permissions` as `new ProcessPool()` does and gives the `deno run` flags. */
export function permissionFlagsOf(permissions: unknown): string[] {
  if (permissions === undefined) return [];
  if (typeof permissions !== "object" || permissions === null || Array.isArray(permissions)) {
    throw new TypeError(
      `Cannot create ProcessPool: permissions must be an object, got ${check.show(permissions)}`,
    );
  }
  const given = permissions as Record<string, unknown>;
  for (const [name, value] of Object.entries(given)) {
    if (!PERMISSION_KINDS.includes(name)) {
      throw new TypeError(
        `Cannot create ProcessPool: unknown permission "${name}" (expected one of ${
          PERMISSION_KINDS.join(", ")
        })`,
      );
    }
    const ok = value === undefined || typeof value === "boolean" ||
      (Array.isArray(value) &&
        value.every((v) =>
          (typeof v === "string" && v !== "" && !v.includes(",")) || v instanceof URL
        ));
    if (!ok) {
      throw new TypeError(
        `Cannot create ProcessPool: permission "${name}" must be a boolean or an array of strings and URLs, got ${
          check.show(value)
        }`,
      );
    }
  }
  return permissionFlags(given as Record<string, PermissionList | undefined>);
}
