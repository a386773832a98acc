// The tuner behind `concurrency: "auto"`: it moves a concurrent stage's limit
// of tasks between 1 and a bound (AUTO_LIMIT, see ../_internal/options.ts)
// while the stage runs. It acts only when a task ends (no timer: a stage with
// no tasks costs nothing) and reads the clock once a window; a stage with a
// fixed limit never meets it.
//
// A window lasts at least WINDOW_MS and max(MIN_TASKS, 2 × limit) tasks. At
// its end the tuner reads
//   rate    tasks ended per ms;
//   use     busy time (the stage's meter) over window × limit: the share of
//           the limit that running tasks kept busy (Little's law);
//   pushed  the share of tasks that ended with the output buffer full;
// and moves the limit:
//   grow    use >= 3/4 and pushed < 1/2 (the limit, not the input or the
//           consumer, holds the stage back): ×2, or ×1.25 once a growth did
//           not pay; never past the bound, nor past what the layer above
//           admits (a pool: the tasks that keep its workers busy);
//   trial   with no layer above, a growth stays when the next window's rate
//           is 10% higher; if not, the limit steps back and the next try
//           waits 1, 2, 4 ... 64 windows. Under a pool's rule a growth needs
//           no trial: the pool knows how many tasks keep its workers busy
//           (from its workers and the kernel's measured time), better than
//           a rate measured over a few milliseconds;
//   shrink  use < 1/3 (the input starves it or the consumer pushes back): to
//           twice the tasks that were running on average.

const WINDOW_MS = 10;
const MIN_TASKS = 4;
const GROW_USE = 0.75;
const SHRINK_USE = 1 / 3;
// How much a growth on trial must raise the rate to stay.
const GAIN = 0.1;
const MAX_WAIT = 64;

/** What the tuner reads of its stage. */
export interface Tuned {
  /** The busy time of the stage's tasks so far, in ms (the stage's meter). */
  busyMs(): number;
  /**
   * Whether the layer above lets `n` tasks run at once (a pool's room
   * rule); absent when there is no such rule.
   */
  readonly admits?: (n: number) => boolean;
}

/** Picks a stage's limit of tasks from what the stage measures. */
export class Tuner {
  readonly #stage: Tuned;
  readonly #bound: number;
  readonly #now: () => number;
  #limit = 1;
  // The window: when it started (-1: at the next task's end), busy time then,
  // tasks ended and pushed back since, and after how many tasks to look.
  #start = -1;
  #busy = 0;
  #done = 0;
  #pushed = 0;
  #check = 1;
  // A growth on trial: the limit before it (0: none) and the rate it must
  // reach; the next growth's factor; windows to wait before the next try,
  // and the wait after the next failed one.
  #prior = 0;
  #wanted = 0;
  #step = 2;
  #wait = 0;
  #backoff = 1;

  /**
   * @param stage What the tuner reads.
   * @param bound The most the limit may be.
   * @param now The clock in milliseconds.
   */
  constructor(stage: Tuned, bound: number, now: () => number = () => performance.now()) {
    this.#stage = stage;
    this.#bound = bound;
    this.#now = now;
  }

  /** The limit now. */
  get limit(): number {
    return this.#limit;
  }

  /**
   * A task ended; `full`: the output buffer was full then. Returns the
   * limit, moved when a window ended.
   */
  ended(full: boolean): number {
    if (full) this.#pushed++;
    if (++this.#done < this.#check) return this.#limit;
    return this.#look();
  }

  #look(): number {
    const t = this.#now();
    if (this.#start < 0) return this.#open(t);
    const ms = t - this.#start;
    if (ms < WINDOW_MS) {
      // Look again about when the window will have lasted long enough.
      const more = ms > 0 ? Math.ceil((this.#done * WINDOW_MS) / ms) : 2 * this.#done;
      this.#check = Math.max(this.#done + 1, more);
      return this.#limit;
    }
    const busy = this.#stage.busyMs();
    const use = (busy - this.#busy) / (ms * this.#limit);
    const next = this.#next(this.#done / ms, use, this.#pushed / this.#done);
    this.#limit = this.#admitted(next);
    return this.#open(t, busy);
  }

  // Starts a window at `t`.
  #open(t: number, busy = this.#stage.busyMs()): number {
    this.#start = t;
    this.#busy = busy;
    this.#done = this.#pushed = 0;
    this.#check = Math.max(MIN_TASKS, 2 * this.#limit);
    return this.#limit;
  }

  #next(rate: number, use: number, pushed: number): number {
    const limit = this.#limit;
    if (this.#prior > 0) {
      const prior = this.#prior;
      this.#prior = 0;
      if (rate < this.#wanted) {
        // The growth did not pay: back, and wait longer before the next try.
        this.#step = 1.25;
        this.#wait = this.#backoff;
        this.#backoff = Math.min(MAX_WAIT, 2 * this.#backoff);
        return prior;
      }
      this.#backoff = 1;
    }
    if (this.#wait > 0) this.#wait--;
    if (use >= GROW_USE && pushed < 0.5) {
      if (this.#wait > 0 || limit >= this.#bound) return limit;
      const grown = this.#admitted(Math.max(limit + 1, Math.round(limit * this.#step)));
      if (grown > limit && this.#stage.admits === undefined) {
        this.#prior = limit;
        this.#wanted = rate * (1 + GAIN);
      }
      return grown;
    }
    if (use < SHRINK_USE) return Math.max(1, Math.min(limit, Math.ceil(2 * use * limit)));
    return limit;
  }

  // The most of `n` that the bound and the layer above admit (at least 1).
  #admitted(n: number): number {
    const admits = this.#stage.admits;
    let high = Math.min(n, this.#bound);
    if (admits === undefined || admits(high)) return high;
    let low = 1; // admitted, or the floor
    while (high - low > 1) {
      const mid = (low + high) >>> 1;
      if (admits(mid)) low = mid;
      else high = mid;
    }
    return low;
  }
}
