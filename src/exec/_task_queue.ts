// Tasks waiting for a worker: a FIFO with O(1) removal by leaving holes, and
// a way to put tasks back at the front (those of a worker that died).

import type { Kernel } from "./kernel.ts";

/** One call of a kernel, from submission to settlement. */
export interface Task {
  readonly id: number;
  readonly kernel: Kernel;
  readonly input: unknown;
  readonly transfer: readonly Transferable[];
  /** The input is the list of the kernel's arguments (spread in the worker). */
  readonly spread: boolean;
  /** The most tasks its stage keeps in the pool (Infinity: no bound of its own; 0: a lone call). */
  readonly cap: number;
  retries: number;
  /** The worker holding it, while one does. */
  holder: unknown;
  settled: boolean;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
  /** Called once when the task settles (removes abort listeners). */
  release: (() => void) | undefined;
}

/** A FIFO of tasks. */
export class TaskQueue {
  #items: (Task | undefined)[] = [];
  #head = 0;
  #size = 0;

  /** Tasks waiting. */
  get size(): number {
    return this.#size;
  }

  /** Adds a task at the back. */
  push(task: Task): void {
    this.#items.push(task);
    this.#size++;
  }

  /** Puts tasks back at the front, oldest first. */
  unshift(tasks: Task[]): void {
    tasks.sort((a, b) => a.id - b.id);
    this.#items = [...tasks, ...this.#items.slice(this.#head)];
    this.#head = 0;
    this.#size += tasks.length;
  }

  /** The task at the front, without taking it. */
  peek(): Task | undefined {
    while (this.#head < this.#items.length && this.#items[this.#head] === undefined) this.#head++;
    return this.#items[this.#head];
  }

  /** Whether every waiting task passes `test`. */
  every(test: (task: Task) => boolean): boolean {
    for (let i = this.#head; i < this.#items.length; i++) {
      const task = this.#items[i];
      if (task !== undefined && !test(task)) return false;
    }
    return true;
  }

  /** Takes the task at the front. */
  shift(): Task | undefined {
    const task = this.peek();
    if (task === undefined) return undefined;
    this.#items[this.#head++] = undefined;
    this.#size--;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return task;
  }

  /** Removes a waiting task; false when it is not here. */
  remove(task: Task): boolean {
    const at = this.#items.indexOf(task, this.#head);
    if (at === -1) return false;
    this.#items[at] = undefined;
    this.#size--;
    return true;
  }

  /** Takes every task. */
  drain(): Task[] {
    const tasks = this.#items.slice(this.#head).filter((t): t is Task => t !== undefined);
    this.#items = [];
    this.#head = this.#size = 0;
    return tasks;
  }
}
