// A ReadableStream that fuses with conveyor stages: `pipeThrough` into a
// conveyor stage (whose writable is a FusableWritable) links the two
// directly, and async iteration reads from the producer without a reader.
// Anything else (options to pipeThrough, a foreign transform, a stream that
// already holds chunks) takes the standard path.

import type { Inlet, Outlet } from "./_port.ts";

/** The producing side behind a fusable readable. */
export interface Producer<T> {
  /** Whether fusing is still possible (nothing buffered in the stream). */
  canFuse(): boolean;
  /** Switches the producer to direct mode and returns its outlet. */
  fuse(): Outlet<T>;
}

/** The consuming side behind a fusable writable. */
export interface Consumer<T> {
  /** Whether fusing is still possible (nothing written yet). */
  canFuse(): boolean;
  /** Switches the consumer to direct mode, fed by `upstream`. */
  fuse(upstream: Outlet<T>): Inlet<T>;
}

/** Where a fusable writable keeps its consumer. */
const CONSUMER: unique symbol = Symbol("conveyor.consumer");

/** A `WritableStream` that a `FusableReadable` can feed directly. */
export class FusableWritable<T> extends WritableStream<T> {
  readonly [CONSUMER]: Consumer<T>;

  constructor(sink: UnderlyingSink<T>, consumer: Consumer<T>) {
    super(sink);
    this[CONSUMER] = consumer;
  }
}

/** A `ReadableStream` that links directly to conveyor stages. */
export class FusableReadable<T> extends ReadableStream<T> {
  #producer: Producer<T>;

  constructor(
    source: UnderlyingDefaultSource<T>,
    strategy: QueuingStrategy<T>,
    producer: Producer<T>,
  ) {
    super(source, strategy);
    this.#producer = producer;
  }

  /**
   * Links `inlet` straight to a fusable readable's producer, locking the
   * stream (the reader it holds is returned, for the consumer to release).
   * Undefined when `readable` cannot fuse (another kind of stream, locked,
   * or holding chunks already).
   */
  static connect<U>(
    readable: ReadableStream<U>,
    inlet: Inlet<U>,
  ): { outlet: Outlet<U>; reader: ReadableStreamDefaultReader<U> } | undefined {
    if (!(readable instanceof FusableReadable)) return undefined;
    const fusable = readable as FusableReadable<U>;
    if (fusable.locked || !fusable.#producer.canFuse()) return undefined;
    const reader = fusable.getReader();
    const outlet = fusable.#producer.fuse();
    outlet.connect(inlet);
    return { outlet, reader };
  }

  override pipeThrough<U>(
    transform: ReadableWritablePair<U, T>,
    options?: StreamPipeOptions,
  ): ReadableStream<U> {
    const writable = transform.writable;
    const consumer = writable instanceof FusableWritable
      ? (writable as FusableWritable<T>)[CONSUMER]
      : undefined;
    if (
      options === undefined && consumer !== undefined && !this.locked &&
      !transform.writable.locked && consumer.canFuse() &&
      this.#producer.canFuse()
    ) {
      this.getReader();
      transform.writable.getWriter();
      const outlet = this.#producer.fuse();
      outlet.connect(consumer.fuse(outlet));
      return transform.readable;
    }
    return super.pipeThrough(transform, options);
  }

  override values(
    options?: ReadableStreamIteratorOptions,
  ): AsyncIterableIterator<T> {
    if (this.locked || options?.preventCancel || !this.#producer.canFuse()) {
      return super.values(options);
    }
    const reader = this.getReader();
    const outlet = this.#producer.fuse();
    const iterator = new DirectIterator<T>(outlet, reader);
    outlet.connect(iterator);
    return iterator as unknown as AsyncIterableIterator<T>;
  }

  override [Symbol.asyncIterator](
    options?: ReadableStreamIteratorOptions,
  ): AsyncIterableIterator<T> {
    return this.values(options);
  }
}

type Waiter<T> = {
  resolve: (result: IteratorResult<T, undefined>) => void;
  reject: (reason: unknown) => void;
};

/** Async iteration straight from a producer: one promise per chunk, no reader. */
class DirectIterator<T> implements Inlet<T>, AsyncIterator<T, undefined> {
  #outlet: Outlet<T>;
  #reader: ReadableStreamDefaultReader<T> | undefined;
  #waiter: Waiter<T> | undefined;
  #state: "open" | "closed" | "errored" = "open";
  #error: unknown;

  constructor(outlet: Outlet<T>, reader: ReadableStreamDefaultReader<T>) {
    this.#outlet = outlet;
    this.#reader = reader;
  }

  ready(): boolean {
    return this.#waiter !== undefined;
  }

  push(value: T): void {
    const waiter = this.#waiter!;
    this.#waiter = undefined;
    waiter.resolve({ value, done: false });
  }

  close(): void {
    this.#state = "closed";
    this.#unlock();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve({ value: undefined, done: true });
  }

  error(reason: unknown): void {
    this.#state = "errored";
    this.#error = reason;
    this.#unlock();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(reason);
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#state === "closed") {
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.#state === "errored") return Promise.reject(this.#error);
    if (this.#waiter !== undefined) {
      return Promise.reject(
        new TypeError("Cannot call next() while a previous call is pending"),
      );
    }
    const promise = new Promise<IteratorResult<T, undefined>>(
      (resolve, reject) => {
        this.#waiter = { resolve, reject };
      },
    );
    this.#outlet.resume();
    return promise;
  }

  return(): Promise<IteratorResult<T, undefined>> {
    if (this.#state === "open") {
      this.#state = "closed";
      this.#unlock();
      this.#outlet.cancel(undefined);
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #unlock(): void {
    this.#reader?.releaseLock();
    this.#reader = undefined;
  }
}
