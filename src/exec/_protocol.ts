// Messages between a pool and its workers (and, framed, its processes).

/**
 * Pool to worker: set up. `slot[0]` holds the id of the task running now
 * (-1: none); `slot[1..]` the ids of tasks withdrawn before they started.
 */
export interface InitMessage {
  type: "init";
  slot: Int32Array<ArrayBufferLike>;
}

/** Pool to worker: run a kernel over a batch of inputs, one after another. */
export interface RunMessage {
  type: "run";
  module: string;
  exportName: string;
  ids: number[];
  inputs: unknown[];
  /** Each input is the list of the kernel's arguments, spread into the call. */
  spread: boolean;
}

/** Worker to pool: a batch is done. `errors` holds [position, error] for failed items. */
export interface DoneMessage {
  type: "done";
  ids: number[];
  values: unknown[];
  errors: [number, unknown][];
  /** How long the batch kept the worker busy (ms). */
  busy: number;
  /** Of that, how long loading the kernel's module took (ms): 0 once it is loaded. */
  load: number;
  /**
   * How long the worker had nothing to run before this batch, since it
   * finished its previous one (ms; 0 for its first batch, or when this one
   * was waiting for it).
   */
  idle: number;
}

/** Worker to pool: the worker is dying (an uncaught error, or close()). */
export interface CrashMessage {
  type: "crash";
  cause: unknown;
  /** The task running when it happened, or -1. */
  taskId: number;
  /** Whether it happened while the worker loaded the module of that task's kernel. */
  loading?: boolean;
}

/** Child process to pool: its kernel modules loaded, it is ready for batches. */
export interface ReadyMessage {
  type: "ready";
}

export type ToWorker = InitMessage | RunMessage;
export type FromWorker = DoneMessage | CrashMessage;
export type FromProcess = FromWorker | ReadyMessage;
