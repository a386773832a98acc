// What a pool holds of each of its workers: a link to a Web Worker or to a
// child process. The pool's scheduling (src/exec/_pool_core.ts) knows only
// this surface.

import type { DoneMessage, RunMessage } from "./_protocol.ts";

/** What a link reports to its pool. */
export interface LinkEvents {
  /** A batch is done. */
  done(message: DoneMessage): void;
  /**
   * The worker died; `culprit` is the task it was running, or -1.
   * `starting`: it died while loading kernel modules: those it was started
   * with (a factory that preloads), or else the module of `culprit`'s kernel.
   */
  crash(cause: unknown, culprit: number, starting?: boolean): void;
}

/** The pool's handle on one worker. */
export interface Link {
  /** The child's process id (undefined for a Web Worker). */
  readonly pid?: number;
  /** Sends a batch; throws when an input cannot be sent. */
  send(message: RunMessage, transfer: readonly Transferable[]): void;
  /** Throws what `send` would throw for this input. */
  check(input: unknown): void;
  /** The id of the task the worker is running now, or -1. */
  running(): number;
  /**
   * Makes sure a task the worker holds, and is not known to run, never runs
   * (or that its result is ignored): false when it may have started.
   */
  withdraw(id: number): boolean;
  /** The worker finished a withdrawn task anyway: forget the withdrawal. */
  forget(id: number): void;
  /** Stops the worker now; resolves once it is gone. */
  kill(): Promise<void>;
}

/** Makes links of one kind. */
export interface LinkFactory {
  /** The pool's class name, for errors. */
  readonly kind: string;
  /** Whether workers start with the pool (else with the first task). */
  readonly eager: boolean;
  /**
   * Whether a worker can run only the kernel modules it was started with
   * (child processes load them as code, before anything else).
   */
  readonly preloads: boolean;
  /** Starts worker number `id` of pool `pool`, able to run kernels of `modules`. */
  spawn(pool: string, id: number, modules: readonly string[], events: LinkEvents): Link;
}
