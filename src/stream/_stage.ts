// The base of every stage: a TransformStream whose two sides are driven by
// this class, so that a chunk between two fused stages costs a few field
// updates and no promise while there is room for it.
//
// Flow control: the input side takes a chunk (`accept`) when the stage has
// room for it. The writable side is the transform stream's own, with no
// transform, so that Deno's pipe into it skips the writable's queue and puts
// each chunk straight into the stream's readable side, and this class reads
// that side with one read pending for each free slot (`freeRoom`, at most
// MAX_READS). The pipe reads from upstream only while a read is pending, so
// what a stage holds is bounded by its room rule; a chunk that a pending
// read brings after the room shrank by itself (a pool's admission) waits in
// `#held` until there is room. A writer of its own waits as with any
// TransformStream: its chunk is taken once a read is pending. The readable
// side's high-water mark is the stage's output buffer.
//
// Fusion: when this stage's readable is piped into another conveyor stage,
// or iterated, the link becomes direct (see _port.ts): the output buffer is a
// local queue and chunks pass by method call. Either way the room rules and
// the error and cancel paths are the same.
//
// Statistics: every stage owns a StageMeter from its construction. It sees
// each change of the output buffer here, and each task in the concurrent
// stages (_concurrent.ts); `stats()` completes the stage's counters with it.

import { Fifo } from "./_fifo.ts";
import { fusable, FusableReadable } from "./_fusable_readable.ts";
import type { Inlet, Outlet } from "./_port.ts";
import type { StageHooks } from "../_internal/hooks.ts";
import { afterTurn, turnDue } from "../_internal/turns.ts";
import { StageMeter } from "./stage_meter.ts";
import type { StageStats, StageStream } from "./types.ts";

// The most reads a stage keeps pending on its input.
const MAX_READS = 16;
// Follows the last chunk into the stage's input when its writable closes.
const END: unique symbol = Symbol("end");

/** Base class for stages; subclasses implement `accept` and maybe the hooks. */
export abstract class Stage<I, O> extends TransformStream<I, O> implements StageStream<I, O> {
  /** The output side. */
  override readonly readable: ReadableStream<O>;
  /** The input side. */
  override readonly writable: WritableStream<I>;
  /** The stage's name, for errors and statistics. */
  readonly name: string;
  /** Items taken from upstream. */
  protected itemsIn = 0;
  /** Items given downstream. */
  protected itemsOut = 0;
  /** Set once the stage takes no more work: closed, errored or cancelled. */
  protected finished = false;
  /** Measures the stage's tasks and output buffer, from its construction. */
  protected readonly meter: StageMeter = new StageMeter();

  readonly #hwm: number;
  #out!: ReadableStreamDefaultController<O>;
  #outOpen = true;
  // Done, with items left in the readable's queue: it closes once they are read.
  #draining = false;
  #pulled = false;
  #signal: AbortSignal | undefined;
  #onSignal: (() => void) | undefined;
  // Input side: fused, or the readable side of the transform stream this
  // stage is, read with a read pending for each free slot.
  #upstream: Outlet<I> | undefined;
  #inputDone = false;
  #control!: TransformStreamDefaultController<unknown>;
  #reader: ReadableStreamDefaultReader<unknown> | undefined;
  #reads = 0;
  // Chunks read when the room for them was gone (only a stage whose room
  // shrinks by itself sees any): taken first when room appears.
  readonly #held = new Fifo<I>();
  // Cancels the turn of the event loop that reading waits for, if any.
  #turn: (() => void) | undefined;
  #closed:
    | { resolve: () => void; reject: (reason: unknown) => void }
    | undefined;
  // Output side, once fused.
  #inlet: Inlet<O> | undefined;
  readonly #queue: Fifo<O>;
  #ended = false;
  #resuming = false;
  /** What the layer above watches (see ../_internal/hooks.ts). */
  protected readonly hooks: StageHooks | undefined;

  constructor(name: string, highWaterMark: number, hooks?: StageHooks) {
    // The writable side is the transform stream's own, with no transform:
    // Deno's pipe into it skips the writable's queue and enqueues straight
    // into the readable side, which this stage reads (see #read).
    let control: TransformStreamDefaultController<unknown> | undefined;
    super(
      {
        start: (c) => {
          control = c as TransformStreamDefaultController<unknown>;
        },
        flush: (c) => this.#closeInput(c as TransformStreamDefaultController<unknown>),
        cancel: (reason) => this.#stop(reason, true, false),
      },
      undefined,
      { highWaterMark: 0 },
    );
    this.#control = control!;
    this.name = name;
    this.#hwm = highWaterMark;
    this.hooks = hooks;
    this.#queue = new Fifo<O>(highWaterMark);
    const outlet: Outlet<O> = {
      connect: (inlet) => {
        this.#inlet = inlet;
      },
      resume: () => this.#resume(),
      cancel: (reason) => this.#stop(reason, false, true),
    };
    this.readable = new FusableReadable<O>(
      {
        start: (controller) => {
          this.#out = controller;
        },
        pull: () => {
          this.#pulled = true;
          this.#buffer();
          if (this.#draining) {
            if (this.#out.desiredSize === highWaterMark) this.#closeOut();
          } else this.progress();
        },
        cancel: (reason) => {
          this.#outOpen = false;
          this.#stop(reason, false, true);
          this.#emptied(); // the stream dropped what it held
        },
      },
      { highWaterMark },
      {
        canFuse: () =>
          this.#inlet === undefined && !this.finished && this.#outOpen &&
          this.#out.desiredSize === highWaterMark,
        fuse: () => outlet,
      },
    );
    this.writable = fusable<I>(super.writable as WritableStream<I>, {
      canFuse: () =>
        this.#upstream === undefined && this.itemsIn === 0 && this.#held.size === 0 &&
        !this.#inputDone && !this.finished,
      fuse: (upstream) => {
        this.#upstream = upstream;
        return {
          ready: () => !this.finished && this.hasRoom(),
          push: (chunk: I) => {
            if (this.finished) return;
            this.itemsIn++;
            this.accept(chunk);
          },
          close: () => {
            this.#inputDone = true;
            this.progress();
          },
          error: (reason) => this.#stop(reason, true, false),
        };
      },
    });
    // Once the subclass is built: read unless fused by then.
    queueMicrotask(() => this.#read());
  }

  /** A snapshot of the stage's statistics. */
  stats(): StageStats {
    return this.report(0, 0, 1);
  }

  /** The stage's statistics, with the counters only a subclass knows. */
  protected report(failures: number, inFlight: number, concurrency: number): StageStats {
    return this.meter.report({
      name: this.name,
      itemsIn: this.itemsIn,
      itemsOut: this.itemsOut,
      failures,
      inFlight,
      concurrency,
      buffered: this.#buffered(),
    });
  }

  /** Takes one chunk. Called when the stage had room. */
  protected abstract accept(chunk: I): void;

  /** Whether another chunk may be taken now. Default: the output buffer is below its mark. */
  protected hasRoom(): boolean {
    const inlet = this.#inlet;
    if (inlet === undefined) {
      return this.#pulled || (this.#out.desiredSize ?? 0) > 0;
    }
    const queued = this.#queue.size;
    return queued < this.#hwm || (queued === 0 && inlet.ready());
  }

  /**
   * How many chunks the stage may take now, one after another (at most
   * `most`). A stage that can tell keeps that many reads pending, so that a
   * pipe from another kind of stream reads on without pausing at each chunk;
   * the default, one while there is room, pauses it.
   */
  protected freeRoom(_most: number): number {
    return this.hasRoom() ? 1 : 0;
  }

  /** Whether all taken work is done, so that the stage may close. */
  protected idle(): boolean {
    return true;
  }

  /** Called once when upstream has closed and the stage is idle: emit what is left. */
  protected flush(): void {}

  /** Called once when the stage stops early (error, cancel, abort). */
  protected stopped(_reason: unknown): void {}

  /** Free room in the output buffer (negative when over its mark). */
  protected get desiredSize(): number {
    if (this.#inlet === undefined) return this.#out.desiredSize ?? 0;
    return this.#hwm - this.#queue.size;
  }

  /** Gives one item downstream. */
  protected emit(value: O): void {
    if (this.finished) return;
    this.itemsOut++;
    const inlet = this.#inlet;
    if (inlet === undefined) {
      this.#pulled = false;
      this.#out.enqueue(value);
    } else if (this.#queue.size === 0 && inlet.ready()) {
      inlet.push(value);
      return; // straight through: the buffer stays empty
    } else {
      const size = this.#queue.push(value);
      // The meter needs only the moves from empty and into full.
      if (size !== 1 && size !== this.#hwm && this.hooks?.buffer === undefined) return;
    }
    this.#buffer();
  }

  // Items in the output buffer now: the fused queue, or the readable's
  // (nothing once it is closed or errored).
  #buffered(): number {
    if (this.#inlet !== undefined) return this.#queue.size;
    if (!this.#outOpen) return 0;
    return Math.max(0, this.#hwm - (this.#out.desiredSize ?? this.#hwm));
  }

  // Tells the meter, and the layer above, how many items the output buffer holds now.
  #buffer(): void {
    const size = this.#buffered();
    this.meter.buffer(size, this.#hwm);
    this.hooks?.buffer?.(size, this.#hwm);
  }

  // The output buffer was dropped: stopped, or the consumer left.
  #emptied(): void {
    this.meter.buffer(0, this.#hwm);
    this.hooks?.buffer?.(0, this.#hwm);
  }

  /** Re-checks room and closing after work completed or room appeared. */
  protected progress(): void {
    if (this.finished) return;
    // Reading that waits for a turn of the event loop goes on after it.
    if (this.#turn === undefined && this.hasRoom()) {
      if (this.#upstream !== undefined) this.#upstream.resume();
      else this.#take();
    }
    if (this.#inputDone && !this.finished && this.#held.size === 0 && this.idle()) this.#finish();
  }

  // Takes held chunks while there is room, then reads on.
  #take(): void {
    const held = this.#held;
    while (held.size > 0 && !this.finished && this.hasRoom()) {
      this.itemsIn++;
      this.accept(held.shift());
    }
    this.#read();
  }

  // Keeps a read pending for each free slot (up to MAX_READS). Fed by a
  // stream of another kind, whose items may all move in microtasks: now and
  // then reading waits for a turn of the event loop (see turns.ts).
  #read(): void {
    if (
      this.#upstream !== undefined || this.#inputDone || this.finished ||
      this.#turn !== undefined || this.#held.size > 0
    ) return;
    let want = this.freeRoom(MAX_READS) - this.#reads;
    if (want <= 0) return;
    if (turnDue()) {
      this.#turn = afterTurn(() => {
        this.#turn = undefined;
        this.progress();
      });
      return;
    }
    const reader = this.#reader ??= super.readable.getReader();
    while (want-- > 0) {
      this.#reads++;
      reader.read().then(this.#onRead, this.#onReadFailed);
    }
  }

  readonly #onRead = (result: ReadableStreamReadResult<unknown>): void => {
    this.#reads--;
    if (result.done || this.finished) return;
    const chunk = result.value;
    if (chunk === END) {
      this.#inputDone = true;
      this.progress();
    } else if (this.#held.size > 0 || !this.hasRoom()) {
      this.#held.push(chunk as I);
    } else {
      this.itemsIn++;
      this.accept(chunk as I);
      this.#read();
    }
  };

  // The transform stream failed: the stage stopped it, or its writable was aborted.
  readonly #onReadFailed = (reason: unknown): void => {
    this.#reads--;
    if (!this.finished) this.#stop(reason, true, false);
  };

  // The writable closed: the chunks before it are read, then END.
  #closeInput(controller: TransformStreamDefaultController<unknown>): Promise<void> | void {
    if (this.finished) return;
    controller.enqueue(END);
    return new Promise<void>((resolve, reject) => {
      this.#closed = { resolve, reject };
    });
  }

  /** Stops the stage when `signal` aborts. Subclasses call it last in their constructor. */
  protected watch(signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    if (signal.aborted) return this.#stop(signal.reason, true, true);
    this.#signal = signal;
    this.#onSignal = () => this.#stop(signal.reason, true, true);
    signal.addEventListener("abort", this.#onSignal, { once: true });
  }

  /** Errors both sides with `error`, cancels upstream, and stops the work. */
  protected fail(error: unknown): void {
    this.#stop(error, true, true);
  }

  #finish(): void {
    try {
      this.flush();
    } catch (error) {
      return this.fail(error);
    }
    if (this.finished) return;
    this.finished = true;
    this.#release();
    this.hooks?.ended?.();
    const closed = this.#closed;
    this.#closed = undefined;
    closed?.resolve();
    if (this.#inlet === undefined || this.#queue.size === 0) {
      this.#closeOut();
    } else {
      this.#ended = true;
    }
  }

  #closeOut(): void {
    if (this.#outOpen) {
      if (this.#inlet === undefined && (this.#out.desiredSize ?? 0) < this.#hwm) {
        // Items wait in the readable's queue: a closed stream would hand them
        // out unseen, so it closes when they are read (see pull), and the
        // meter sees them leave.
        this.#draining = true;
        return;
      }
      this.#draining = false;
      this.#outOpen = false;
      this.#out.close();
    }
    this.#inlet?.close();
  }

  #resume(): void {
    // Downstream has room. With nothing queued, that gives this stage no
    // room it did not have (its room depends on its own buffer and tasks,
    // which call progress() themselves when they change), so there is
    // nothing to do: an item that trickles through a chain does not walk
    // back up the whole chain. A stage with no buffer (its room is
    // downstream's) and one closing once drained go on.
    if (this.#queue.size === 0 && this.#hwm > 0 && !this.#ended) return;
    if (this.#resuming) return;
    this.#resuming = true;
    let moved = false;
    try {
      const inlet = this.#inlet!;
      const queue = this.#queue;
      while (queue.size > 0 && inlet.ready()) {
        moved = true;
        inlet.push(queue.shift());
      }
      if (queue.size === 0 && this.#ended) {
        this.#ended = false;
        this.#closeOut();
      }
    } finally {
      this.#resuming = false;
    }
    if (moved) this.#buffer();
    this.progress();
  }

  #stop(reason: unknown, errorOut: boolean, errorIn: boolean): void {
    if (this.finished) {
      // Closed already, with output still queued: the consumer left.
      if (this.#ended && !errorOut) {
        this.#ended = false;
        this.#queue.clear();
        this.#emptied();
        this.#closeOut();
      }
      return;
    }
    this.finished = true;
    this.#release();
    this.#queue.clear();
    this.#emptied();
    this.hooks?.ended?.();
    if (errorOut) {
      this.#outOpen = false;
      this.#out.error(reason);
      this.#inlet?.error(reason);
    } else if (this.#inlet !== undefined && this.#outOpen) {
      this.#outOpen = false;
      this.#out.close();
    }
    this.#held.clear();
    if (errorIn) {
      if (this.#upstream !== undefined) this.#upstream.cancel(reason);
      else this.#control.error(reason);
    }
    this.#turn?.();
    this.#turn = undefined;
    const closed = this.#closed;
    this.#closed = undefined;
    closed?.reject(reason);
    this.stopped(reason);
  }

  #release(): void {
    if (this.#onSignal !== undefined) {
      this.#signal!.removeEventListener("abort", this.#onSignal);
      this.#signal = this.#onSignal = undefined;
    }
  }
}
