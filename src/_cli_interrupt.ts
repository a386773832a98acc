// Ctrl-C for the command line's `run`, with a watchdog on a thread of its
// own (`_cli_watchdog.ts`), so that it works even while a kernel blocks the
// main thread: the first SIGINT stops the run, and a second one, or the run
// still going after a grace period, ends the process at once with status 130,
// its child processes killed.

/** What the main thread sends to start the watchdog. */
export interface WatchdogStart {
  /** How long a run may take to stop after the first SIGINT, in ms. */
  readonly graceMs: number;
  /** Whether stderr is a terminal (a progress line may need clearing). */
  readonly terminal: boolean;
}

/** What the watchdog sends to the main thread. */
export type WatchdogMessage = "ready" | "interrupt";

/** How long a run may take to stop after Ctrl-C before the process ends: 3 s. */
export const GRACE_MS = 3000;

/** Listens for Ctrl-C until disposed. */
export class Interrupts implements Disposable {
  readonly #worker: Worker;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /**
   * Starts listening; resolves once a SIGINT can no longer end the process
   * before `onInterrupt` is told.
   */
  static async listen(
    onInterrupt: () => void,
    options: Partial<WatchdogStart> = {},
  ): Promise<Interrupts> {
    const worker = new Worker(new URL("./_cli_watchdog.ts", import.meta.url), { type: "module" });
    const ready = Promise.withResolvers<void>();
    worker.onmessage = (event: MessageEvent<WatchdogMessage>) => {
      if (event.data === "ready") ready.resolve();
      else if (event.data === "interrupt") onInterrupt();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      ready.reject(event.error ?? new Error(event.message));
    };
    const start: WatchdogStart = {
      graceMs: options.graceMs ?? GRACE_MS,
      terminal: options.terminal ?? false,
    };
    worker.postMessage(start);
    try {
      await ready.promise;
    } catch (error) {
      worker.terminate();
      throw error;
    }
    return new Interrupts(worker);
  }

  /** Stops listening: Ctrl-C ends the process as it does by default. */
  [Symbol.dispose](): void {
    this.#worker.terminate();
  }
}
