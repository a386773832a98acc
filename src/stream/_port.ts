// Direct links between stages. When a conveyor stage's readable is piped
// into another conveyor stage (or iterated by a conveyor iterator), the two
// are fused: chunks pass by method call instead of through a pipe, and flow
// control is the same room rule as through the streams: the consumer says
// when it is ready, the producer buffers up to its high-water mark.

/** The consuming end of a fused link. */
export interface Inlet<T> {
  /** Whether one more chunk may be pushed now. */
  ready(): boolean;
  /** Takes one chunk (only after `ready()` said yes, or it overfills). */
  push(value: T): void;
  /** No more chunks will come. */
  close(): void;
  /** The producer failed; no more chunks will come. */
  error(reason: unknown): void;
}

/** The producing end of a fused link. */
export interface Outlet<T> {
  /** Connects the consumer; the producer pushes to it from now on. */
  connect(inlet: Inlet<T>): void;
  /** The consumer has room again: push what is buffered, produce more. */
  resume(): void;
  /** The consumer is gone: stop producing, cancel upstream with `reason`. */
  cancel(reason: unknown): void;
}
