// A first-in first-out queue on a ring that grows by doubling and never
// shrinks: a stage's output queue fills and empties once per item when
// items trickle through, and an array emptied by `length = 0` would give
// its storage back to be allocated again at the next push.

/** A FIFO whose storage is reused as it empties and fills. */
export class Fifo<T> {
  #items: (T | undefined)[];
  #mask: number;
  #head = 0;
  #size = 0;

  /** `capacity`: the room to start with (rounded up to a power of two, at least 8). */
  constructor(capacity = 8) {
    let size = 8;
    while (size < capacity && size < 1024) size *= 2;
    this.#items = new Array<T | undefined>(size).fill(undefined);
    this.#mask = size - 1;
  }

  /** Items held. */
  get size(): number {
    return this.#size;
  }

  /** Adds an item at the back; returns the size now. */
  push(value: T): number {
    if (this.#size > this.#mask) this.#grow();
    this.#items[(this.#head + this.#size) & this.#mask] = value;
    return ++this.#size;
  }

  /** Takes the item at the front (the caller checked that there is one). */
  shift(): T {
    const head = this.#head;
    const value = this.#items[head] as T;
    this.#items[head] = undefined;
    this.#head = (head + 1) & this.#mask;
    this.#size--;
    return value;
  }

  /** Drops every item. */
  clear(): void {
    this.#items.fill(undefined);
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const size = this.#mask + 1;
    const items = new Array<T | undefined>(size * 2).fill(undefined);
    for (let i = 0; i < size; i++) items[i] = this.#items[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#mask = size * 2 - 1;
    this.#head = 0;
  }
}
