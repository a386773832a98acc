// Links to module Web Workers running src/exec/_worker_host.ts. A shared
// Int32Array per worker says which task runs now (cell 0) and which held
// tasks were withdrawn before they started (cells 1..CANCEL_CELLS).

import type { Link, LinkEvents, LinkFactory } from "./_link.ts";
import type { FromWorker, ToWorker } from "./_protocol.ts";

const HOST = new URL("./_worker_host.ts", import.meta.url);
const CANCEL_CELLS = 16;

class WorkerLink implements Link {
  readonly #worker: Worker;
  readonly #cells: Int32Array<SharedArrayBuffer>;

  constructor(name: string, events: LinkEvents) {
    const worker = new Worker(HOST, { type: "module", name });
    const cells = new Int32Array(new SharedArrayBuffer(4 * (1 + CANCEL_CELLS))).fill(-1);
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.type === "done") events.done(message);
      else events.crash(message.cause, message.taskId, message.loading);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      events.crash(event.error ?? new Error(event.message), Atomics.load(cells, 0));
    };
    worker.onmessageerror = () => {
      events.crash(new Error("a message from the worker could not be read"), -1);
    };
    worker.postMessage({ type: "init", slot: cells } satisfies ToWorker);
    this.#worker = worker;
    this.#cells = cells;
  }

  send(message: ToWorker, transfer: readonly Transferable[]): void {
    this.#worker.postMessage(message, transfer as Transferable[]);
  }

  check(input: unknown): void {
    structuredClone(input);
  }

  running(): number {
    return Atomics.load(this.#cells, 0);
  }

  withdraw(id: number): boolean {
    for (let i = 1; i <= CANCEL_CELLS; i++) {
      if (Atomics.compareExchange(this.#cells, i, -1, id) === -1) {
        // The worker writes cell 0 before it reads the cancel cells: one of
        // the two sides sees the other.
        return Atomics.load(this.#cells, 0) !== id;
      }
    }
    return false;
  }

  forget(id: number): void {
    for (let i = 1; i <= CANCEL_CELLS; i++) Atomics.compareExchange(this.#cells, i, id, -1);
  }

  kill(): Promise<void> {
    this.#worker.terminate();
    return Promise.resolve();
  }
}

/** Makes links to Web Workers, named `${pool}-${id}`. */
export const workerLinks: LinkFactory = {
  kind: "WorkerPool",
  eager: true,
  preloads: false,
  spawn: (pool, id, _modules, events) => new WorkerLink(`${pool}-${id}`, events),
};
