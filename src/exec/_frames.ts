// Framing for the pipes between a ProcessPool and its children. A message is
// V8's structured serialization (node:v8) behind a header. Children write
// [magic "CVYF"][u32 length][payload] for a message, and [magic "CVYS"][u32
// task id] when a task of a batch starts (the first one's start is implied);
// anything else on a child's stdout is garbage. The pool writes [u32
// length][payload]. Integers are little-endian.

import { deserialize, serialize } from "node:v8";

const FRAME = 0x46595643; // "CVYF"
const START = 0x53595643; // "CVYS"
const HEADER = 8;

/** Encodes a message from a child. */
export function childFrame(message: unknown): Uint8Array {
  const payload = serialize(message);
  const out = new Uint8Array(HEADER + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, FRAME, true);
  view.setUint32(4, payload.length, true);
  out.set(payload, HEADER);
  return out;
}

/** Encodes "task `id` starts now", from a child. */
export function startFrame(id: number): Uint8Array {
  const out = new Uint8Array(HEADER);
  const view = new DataView(out.buffer);
  view.setUint32(0, START, true);
  view.setUint32(4, id, true);
  return out;
}

/** Encodes a message to a child. */
export function parentFrame(message: unknown): Uint8Array {
  const payload = serialize(message);
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, true);
  out.set(payload, 4);
  return out;
}

/** Throws what serializing `value` would throw. */
export function checkSerializable(value: unknown): void {
  serialize(value);
}

/** What a reader yields. */
export type Frame = { start: number } | { message: unknown };

/** Reassembles frames from the chunks of a pipe. */
export class FrameReader {
  readonly #fromChild: boolean;
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;

  /** `fromChild`: read a child's frames (with magic), else the pool's. */
  constructor(fromChild: boolean) {
    this.#fromChild = fromChild;
  }

  /** Adds bytes read from the pipe. */
  push(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buffer.length) {
      const held = this.#end - this.#start;
      if (held + chunk.length > this.#buffer.length) {
        const next = new Uint8Array(Math.max(2 * this.#buffer.length, held + chunk.length));
        next.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = next;
      } else {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = held;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** The next whole frame, or undefined. Throws on bytes that are not a frame. */
  next(): Frame | undefined {
    const header = this.#fromChild ? HEADER : 4;
    if (this.#end - this.#start < header) return undefined;
    const view = new DataView(this.#buffer.buffer, this.#start, header);
    let length: number;
    if (this.#fromChild) {
      const magic = view.getUint32(0, true);
      if (magic === START) {
        this.#start += HEADER;
        return { start: view.getUint32(4, true) };
      }
      if (magic !== FRAME) throw new Error(`the process wrote to stdout: ${this.#garbage()}`);
      length = view.getUint32(4, true);
    } else {
      length = view.getUint32(0, true);
    }
    if (this.#end - this.#start < header + length) return undefined;
    // A copy: node:v8 hands out typed arrays that alias the bytes it reads.
    const payload = this.#buffer.slice(this.#start + header, this.#start + header + length);
    this.#start += header + length;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return { message: deserialize(payload) };
  }

  #garbage(): string {
    const bytes = this.#buffer.subarray(this.#start, Math.min(this.#end, this.#start + 60));
    return JSON.stringify(new TextDecoder().decode(bytes));
  }
}
