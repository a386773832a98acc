// Results that finished ahead of their turn, by sequence number. A ring that
// grows by doubling: the indices it holds always lie within one window past
// `next`, so slot `index & mask` is free for each of them.

/** Holds out-of-order results until every earlier index has been released. */
export class ReorderBuffer<T> {
  #values: (T | undefined)[];
  #full: boolean[];
  #mask: number;
  #next = 0;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity && size < 1024) size *= 2;
    this.#values = new Array(size).fill(undefined);
    this.#full = new Array(size).fill(false);
    this.#mask = size - 1;
  }

  /** The index released next. */
  get next(): number {
    return this.#next;
  }

  /** Whether the result for `next` is here. */
  get ready(): boolean {
    return this.#full[this.#next & this.#mask]!;
  }

  /** Stores the result for `index` (which must be past `next`). */
  put(index: number, value: T): void {
    if (index - this.#next > this.#mask) this.#grow(index - this.#next + 1);
    const slot = index & this.#mask;
    this.#values[slot] = value;
    this.#full[slot] = true;
  }

  /** Releases the result for `next` (which must be `ready`). */
  shift(): T {
    const slot = this.#next++ & this.#mask;
    const value = this.#values[slot] as T;
    this.#values[slot] = undefined;
    this.#full[slot] = false;
    return value;
  }

  /** Moves past `next` when its result was delivered without being stored. */
  skip(): void {
    this.#next++;
  }

  #grow(span: number): void {
    let size = this.#mask + 1;
    while (size < span) size *= 2;
    const values = new Array<T | undefined>(size).fill(undefined);
    const full = new Array<boolean>(size).fill(false);
    const oldMask = this.#mask;
    for (let i = this.#next; i <= this.#next + oldMask; i++) {
      if (this.#full[i & oldMask]) {
        values[i & (size - 1)] = this.#values[i & oldMask];
        full[i & (size - 1)] = true;
      }
    }
    this.#values = values;
    this.#full = full;
    this.#mask = size - 1;
  }
}
