// A ReadableStream that fuses with conveyor stages: `pipeThrough` into a
// conveyor stage (whose writable is marked `fusable`) links the two
// directly, and async iteration reads from the producer without a reader
// (a BufferedReader that reads nothing ahead).
// Anything else (options to pipeThrough, a foreign transform, a stream that
// already holds chunks) takes the standard path.

import type { Inlet, Outlet } from "./_port.ts";
import { BufferedReader, type ReaderEnds } from "./buffered_reader.ts";

// A plain iterator's ends: a failure is thrown as it is.
const PASS: ReaderEnds<never> = {
  ended: () => {},
  failed: (reason) => {
    throw reason;
  },
};

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

/** Marks `writable` as one that a `FusableReadable` can feed directly, through `consumer`. */
export function fusable<T>(writable: WritableStream<T>, consumer: Consumer<T>): WritableStream<T> {
  Object.defineProperty(writable, CONSUMER, { value: consumer });
  return writable;
}

// The consumer behind a writable marked by `fusable`, if any.
function consumerOf<T>(writable: WritableStream<T>): Consumer<T> | undefined {
  return (writable as { [CONSUMER]?: Consumer<T> })[CONSUMER];
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
    const consumer = consumerOf(transform.writable);
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
    // Iteration straight from the producer: one promise per chunk, no reader.
    return new BufferedReader<T>(this, 0, PASS) as unknown as AsyncIterableIterator<T>;
  }

  override [Symbol.asyncIterator](
    options?: ReadableStreamIteratorOptions,
  ): AsyncIterableIterator<T> {
    return this.values(options);
  }
}
