// The command line's progress line: items done, rate, and the ETA when the
// total is known. On a terminal it is redrawn in place with `\r`; elsewhere
// it is a plain line now and then, with no escape codes.

/** Where the progress line goes and how often. */
export interface ProgressOptions {
  /** Whether the output is a terminal: redraw one line instead of adding lines. */
  readonly terminal: boolean;
  /** Writes text as it is. */
  readonly write: (text: string) => void;
  /** Milliseconds between lines. Default: 100 on a terminal, 1000 elsewhere. */
  readonly intervalMs?: number;
}

function grouped(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Shows how far a run has got, until disposed. */
export class Progress implements Disposable {
  readonly #count: () => number;
  readonly #total: number | undefined;
  readonly #options: ProgressOptions;
  readonly #started = performance.now();
  readonly #timer: ReturnType<typeof setInterval>;
  #drawn = false;

  constructor(count: () => number, total: number | undefined, options: ProgressOptions) {
    this.#count = count;
    this.#total = total;
    this.#options = options;
    const interval = options.intervalMs ?? (options.terminal ? 100 : 1000);
    this.#timer = setInterval(() => this.#draw(), interval);
  }

  /** The line as it stands: `120/1,000 items (12%), 240 items/s, ETA 3.7 s`. */
  line(): string {
    const done = this.#count();
    const seconds = (performance.now() - this.#started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const total = this.#total;
    let text = total === undefined
      ? `${grouped(done)} items`
      : `${grouped(done)}/${grouped(total)} items (${
        total === 0 ? 100 : Math.floor((done / total) * 100)
      }%)`;
    text += `, ${grouped(rate)} items/s, ${duration(seconds)}`;
    if (total !== undefined && rate > 0 && done < total) {
      text += `, ETA ${duration((total - done) / rate)}`;
    }
    return text;
  }

  /** Removes the terminal's progress line, before other text is written. */
  clear(): void {
    if (this.#options.terminal && this.#drawn) this.#options.write("\r\x1b[K");
    this.#drawn = false;
  }

  /** Writes the last line, ending with how the run ended, and stops. */
  finish(outcome: string): void {
    clearInterval(this.#timer);
    this.#draw(outcome);
  }

  /** Stops without writing. */
  [Symbol.dispose](): void {
    clearInterval(this.#timer);
  }

  #draw(outcome?: string): void {
    const last = outcome !== undefined;
    const text = `progress: ${this.line()}${last ? ` (${outcome})` : ""}`;
    if (!this.#options.terminal) return this.#options.write(`${text}\n`);
    this.#options.write(`\r${text}\x1b[K${last ? "\n" : ""}`);
    this.#drawn = !last;
  }
}
