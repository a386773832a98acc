/**
 * The error of a task whose worker died.
 *
 * @module
 */

/**
 * A worker (or a child process) died while it held this task: it threw
 * outside a task, called `close()`, exited or was killed. The pool replaces
 * the worker; the task fails with this error unless the caller asked for
 * `retries`.
 *
 * @example Telling a crash from a kernel's own error
 * ```ts
 * import { WorkerCrashError } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const error = new WorkerCrashError('"work" of file:///k.ts', 3, new Error("exit 137"));
 * assert.equal(error.name, "WorkerCrashError");
 * assert.equal(error.workerId, 3);
 * assert.match(error.message, /worker 3 died while running "work" of file:\/\/\/k\.ts: exit 137/);
 * ```
 */
export class WorkerCrashError extends Error {
  /** The kernel the task was running, as `"export" of module`. */
  readonly kernel: string;
  /** The number of the worker that died. */
  readonly workerId: number;

  /**
   * Makes the error.
   *
   * @param kernel The kernel's name.
   * @param workerId The worker's number.
   * @param cause Why the worker died, when known.
   */
  constructor(kernel: string, workerId: number, cause?: unknown) {
    const why = cause === undefined
      ? ""
      : `: ${cause instanceof Error ? cause.message : String(cause)}`;
    super(`worker ${workerId} died while running ${kernel}${why}`, { cause });
    this.name = "WorkerCrashError";
    this.kernel = kernel;
    this.workerId = workerId;
  }
}
