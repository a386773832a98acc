// What a NATS pool's client and its workers say to each other, and where.
//
// Per pool P:
// - tasks: the work-queue stream CONVEYOR_P_TASKS, subject conveyor.P.tasks.<job>;
//   one message carries many items of one kernel. Workers share the durable
//   pull consumer "workers" and acknowledge a task only once its result is
//   stored.
// - results: the stream CONVEYOR_P_RESULTS, subject conveyor.P.results.<job>;
//   a worker publishes a task's results there (message id job:task, so a
//   task that ran twice is stored once) before it acknowledges the task.
// - control (plain NATS): conveyor.P.control, a client withdrawing tasks.
// - presence (plain NATS): conveyor.P.workers, each worker's heartbeat.
//
// Payloads are JSON: values must be what JSON carries.

/** A pool name: letters, digits, `-` and `_` (it is part of stream and subject names). */
export const POOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Subjects and streams of pool `pool`. */
export function names(pool: string): {
  tasks: string;
  results: string;
  taskSubject: (job: string) => string;
  resultSubject: (job: string) => string;
  control: string;
  presence: string;
  consumer: string;
} {
  return {
    tasks: `CONVEYOR_${pool}_TASKS`,
    results: `CONVEYOR_${pool}_RESULTS`,
    taskSubject: (job) => `conveyor.${pool}.tasks.${job}`,
    resultSubject: (job) => `conveyor.${pool}.results.${job}`,
    control: `conveyor.${pool}.control`,
    presence: `conveyor.${pool}.workers`,
    consumer: "workers",
  };
}

/** A task: items of one kernel, from one job (one client). */
export interface TaskMessage {
  job: string;
  /** The task's number within the job. */
  task: number;
  module: string;
  exportName: string;
  /** Each input is the kernel's argument list. */
  spread: boolean;
  /** The job's numbers of the items. */
  seqs: number[];
  inputs: unknown[];
  /** Epoch ms after which a worker drops the task unrun (its client is gone). */
  deadline: number;
  /** Deliveries after which its items fail with WorkerCrashError. */
  maxDeliver: number;
  /** Milliseconds a worker may hold it between progress reports. */
  ackWaitMs: number;
}

/** An error as it travels. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
}

/** The outcome of a task. */
export interface ResultMessage {
  job: string;
  task: number;
  seqs: number[];
  /** Values in seqs order (`null` where the item failed). */
  values: unknown[];
  /** [position, error] for failed items. */
  errors: [number, WireError][];
  /** Milliseconds the worker spent on the items. */
  busyMs: number;
  /** The worker's id. */
  worker: string;
}

/** A client withdraws a job (`task` absent) or one task. */
export interface ControlMessage {
  job: string;
  task?: number;
}

/** A worker's heartbeat. */
export interface PresenceMessage {
  id: string;
  size: number;
  /** Tasks it holds now. */
  holding: number;
  tasksDone: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON bytes. */
export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** A value from JSON bytes. */
export function decode<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}

/** An error made fit to travel. */
export function toWire(error: unknown): WireError {
  if (error instanceof Error) {
    return {
      name: error.name,
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
    };
  }
  return { name: "Error", message: String(error) };
}

/** An error again, with the remote name, message and stack. */
export function fromWire(wire: WireError): Error {
  const error = new Error(wire.message);
  error.name = wire.name;
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}
