// Headless Chromium driven over the DevTools protocol (CDP): Debian's
// `chromium`, one WebSocket and JSON messages, no npm package. The browser
// runs with a temporary profile and prints the address of its DevTools
// socket on stderr; pages are targets attached over that one socket
// ("flatten" sessions). Closing asks the browser to quit (Browser.close),
// waits for the process to exit, SIGKILLs whatever of its processes is left
// (they all carry the profile folder on their command line), then removes
// the profile. Waits for the page are MutationObserver promises evaluated in
// the page: they settle on the change itself, with a limit only against a hang.

import { findBinary } from "./_nats.ts";

/** How long the browser may take to print its DevTools address. */
const LAUNCH_LIMIT_MS = 30_000;
/** How long a page may take to load. */
const LOAD_LIMIT_MS = 20_000;
/** How long the browser may take to quit after Browser.close before it is SIGKILLed. */
const CLOSE_GRACE_MS = 10_000;
const NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
const INSTALL_HINT =
  "run .ci/run (it installs it from Debian's packages) or `apt-get install -y chromium`";

/** The Chromium binary (`$CHROMIUM` first), or a clear error saying how to get it. */
export function chromiumBinary(): string {
  const given = Deno.env.get("CHROMIUM");
  if (given) {
    try {
      if (Deno.statSync(given).isFile) return given;
    } catch {
      // Reported below.
    }
    throw new Error(`CHROMIUM=${given} is not a file: unset it, or ${INSTALL_HINT}`);
  }
  for (const name of NAMES) {
    const found = findBinary(name);
    if (found) return found;
  }
  throw new Error(
    `Chromium is not installed (none of ${NAMES.join(", ")} on PATH): ${INSTALL_HINT}`,
  );
}

/** What `launchBrowser` starts. */
export interface BrowserOptions {
  /** The viewport of new pages, in CSS pixels. @default {1200} */
  width?: number;
  /** @default {800} */
  height?: number;
}

/** A page (a CDP target) of the browser. */
export interface Page {
  /** Opens `url` and resolves once its `load` event fired. */
  goto(url: string): Promise<void>;
  /** The value of a JavaScript expression in the page (awaited when it is a promise). */
  evaluate<T>(expression: string): Promise<T>;
  /**
   * Resolves with what `predicate` (the source of a JavaScript function run in
   * the page) returns once that is not `undefined`, `null` or `false`: checked
   * now and after every change of the document. Rejects after `limitMs` with
   * `what` and the page's text, or when the predicate throws.
   */
  waitFor<T>(predicate: string, what: string, limitMs?: number): Promise<T>;
  /** A PNG of the whole page (beyond the viewport when it is taller). */
  screenshot(): Promise<Uint8Array>;
}

/** A running headless Chromium. */
export interface Browser extends AsyncDisposable {
  /** The browser process's id. */
  readonly pid: number;
  /** The temporary profile folder (removed on close). */
  readonly profile: string;
  /** A new blank page with the browser's viewport. */
  newPage(): Promise<Page>;
  /** Ids of processes still running with this browser's profile on their command line. */
  processes(): number[];
  /** Quits the browser, waits for its processes and removes the profile. Idempotent. */
  close(): Promise<void>;
  /** Everything the browser wrote on stdout and stderr. */
  log(): string;
}

interface Waiter {
  resolve(value: Record<string, unknown>): void;
  reject(error: Error): void;
  method: string;
}

/** One DevTools WebSocket: numbered commands and their answers, and events. */
class Connection {
  readonly #socket: WebSocket;
  readonly #waiting = new Map<number, Waiter>();
  readonly #listeners = new Set<(message: Record<string, unknown>) => void>();
  readonly closed: Promise<void>;
  #next = 0;
  #isClosed = false;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", () => {
        this.#isClosed = true;
        for (const waiter of this.#waiting.values()) {
          waiter.reject(new Error(`DevTools socket closed before ${waiter.method} answered`));
        }
        this.#waiting.clear();
        resolve();
      }, { once: true });
    });
    socket.addEventListener("message", (event) => this.#receive(event.data as string));
  }

  /** Opens the socket at `url`; rejects when it cannot. */
  static open(url: string): Promise<Connection> {
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      const opened = () => {
        socket.removeEventListener("error", failed);
        resolve(new Connection(socket));
      };
      const failed = (event: Event) => {
        socket.removeEventListener("open", opened);
        reject(
          new Error(`Cannot open the DevTools socket ${url}: ${(event as ErrorEvent).message}`),
        );
      };
      socket.addEventListener("open", opened, { once: true });
      socket.addEventListener("error", failed, { once: true });
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Sends `method` (to the page of `sessionId` when given) and resolves with its result. */
  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    if (this.#isClosed) return Promise.reject(new Error(`DevTools socket closed: ${method}`));
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, method });
      this.#socket.send(
        JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }),
      );
    });
  }

  /** Calls `listener` with every event until the returned function is called. */
  listen(listener: (message: Record<string, unknown>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Closes the socket and waits for it to be closed. */
  async close(): Promise<void> {
    if (!this.#isClosed) this.#socket.close();
    await this.closed;
  }

  #receive(data: string): void {
    const message = JSON.parse(data) as Record<string, unknown>;
    if (typeof message.id === "number") {
      const waiter = this.#waiting.get(message.id);
      if (waiter === undefined) return;
      this.#waiting.delete(message.id);
      const error = message.error as { message?: string } | undefined;
      if (error) waiter.reject(new Error(`${waiter.method}: ${error.message ?? "failed"}`));
      else waiter.resolve((message.result ?? {}) as Record<string, unknown>);
      return;
    }
    for (const listener of this.#listeners) listener(message);
  }
}

/** Rejects with `message` after `ms` unless `promise` settles first; clears its timer. */
async function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts headless Chromium with a temporary profile and connects to it.
 * Throws, with the browser's output, when it prints no DevTools address
 * within 30 s or exits first, and says how to install it when it is missing.
 */
export async function launchBrowser(options: BrowserOptions = {}): Promise<Browser> {
  const { width = 1200, height = 800 } = options;
  const binary = chromiumBinary();
  const profile = await Deno.makeTempDir({ prefix: "conveyor_chromium_" });
  const child = new Deno.Command(binary, {
    args: [
      "--headless=new",
      "--remote-debugging-port=0",
      "--remote-debugging-address=127.0.0.1",
      `--user-data-dir=${profile}`,
      "--no-sandbox",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-dev-shm-usage",
      "--disable-gpu",
      "--hide-scrollbars",
      "--mute-audio",
      `--window-size=${width},${height}`,
      "about:blank",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const chunks: string[] = [];
  const watchers = new Set<() => void>();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      chunks.push(text);
      for (const watcher of watchers) watcher();
    }
  };
  let running = true;
  const status = Promise.all([drain(child.stdout), drain(child.stderr)])
    .then(() => child.status)
    .finally(() => {
      running = false;
      for (const watcher of watchers) watcher();
    });
  const log = () => chunks.join("");
  const processes = () => leftovers(profile);
  const kill = (signal: Deno.Signal) => {
    if (!running) return;
    try {
      child.kill(signal);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // it exited meanwhile
    }
  };
  // Ends the process and everything it started, and removes the profile.
  const finish = async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (running) timer = setTimeout(() => kill("SIGKILL"), CLOSE_GRACE_MS);
    try {
      await status;
    } finally {
      clearTimeout(timer);
    }
    for (const pid of processes()) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    await Deno.remove(profile, { recursive: true });
  };

  let connection: Connection;
  try {
    const address = await new Promise<string>((resolve, reject) => {
      const done = (error: Error | undefined, url?: string) => {
        watchers.delete(check);
        clearTimeout(timer);
        error ? reject(error) : resolve(url!);
      };
      const check = () => {
        const found = /DevTools listening on (ws:\/\/\S+)/.exec(log());
        if (found) done(undefined, found[1]);
        else if (!running) done(new Error(`${binary} exited before listening:\n${log()}`));
      };
      const timer = setTimeout(
        () =>
          done(
            new Error(`${binary} printed no DevTools address in ${LAUNCH_LIMIT_MS} ms:\n${log()}`),
          ),
        LAUNCH_LIMIT_MS,
      );
      watchers.add(check);
      check();
    });
    connection = await Connection.open(address);
  } catch (error) {
    kill("SIGKILL");
    await finish();
    throw error;
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      try {
        // The browser answers, then quits and closes the socket; or the socket is gone already.
        await connection.send("Browser.close").catch(() => {});
        await within(connection.closed, CLOSE_GRACE_MS, () => "the DevTools socket stayed open")
          .catch(() => connection.close());
      } finally {
        await finish();
      }
    })();
    return closing;
  };

  return {
    pid: child.pid,
    profile,
    processes,
    log,
    close,
    [Symbol.asyncDispose]: close,
    async newPage() {
      const { targetId } = await connection.send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await connection.send("Target.attachToTarget", {
        targetId,
        flatten: true,
      }) as { sessionId: string };
      const page = openPage(connection, sessionId);
      await connection.send("Page.enable", {}, sessionId);
      await connection.send("Runtime.enable", {}, sessionId);
      await connection.send("Emulation.setDeviceMetricsOverride", {
        width,
        height,
        deviceScaleFactor: 1,
        mobile: false,
      }, sessionId);
      return page;
    },
  };
}

/** The page attached as `sessionId`. */
function openPage(connection: Connection, sessionId: string): Page {
  const send = (method: string, params: Record<string, unknown> = {}) =>
    connection.send(method, params, sessionId);
  const evaluate = async <T>(expression: string): Promise<T> => {
    const answer = await send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }) as {
      result?: { value?: unknown };
      exceptionDetails?: { text?: string; exception?: { description?: string; value?: unknown } };
    };
    const thrown = answer.exceptionDetails;
    if (thrown) {
      const reason = thrown.exception?.description ?? thrown.exception?.value ?? thrown.text;
      throw new Error(`In the page: ${reason}`);
    }
    return answer.result?.value as T;
  };
  return {
    async goto(url) {
      let stop = () => {};
      const loaded = new Promise<void>((resolve) => {
        stop = connection.listen((message) => {
          if (message.sessionId === sessionId && message.method === "Page.loadEventFired") {
            resolve();
          }
        });
      });
      try {
        const answer = await send("Page.navigate", { url }) as { errorText?: string };
        if (answer.errorText) throw new Error(`Cannot open ${url}: ${answer.errorText}`);
        await within(loaded, LOAD_LIMIT_MS, () => `${url} did not load in ${LOAD_LIMIT_MS} ms`);
      } finally {
        stop();
      }
    },
    evaluate,
    waitFor<T>(predicate: string, what: string, limitMs = 20_000): Promise<T> {
      // The page's own timer gives the clear error; ours only guards a stuck page.
      const expression = `new Promise((resolve, reject) => {
        const predicate = (${predicate});
        const done = () => { observer.disconnect(); clearTimeout(timer); };
        const check = () => {
          let value;
          try { value = predicate(); } catch (error) { done(); reject(error); return; }
          if (value !== undefined && value !== null && value !== false) { done(); resolve(value); }
        };
        const observer = new MutationObserver(check);
        const timer = setTimeout(() => {
          done();
          const text = (document.body ? document.body.innerText : "").slice(0, 2000);
          reject(new Error(${JSON.stringify(`waited ${limitMs} ms for ${what}`)} +
            "; the page shows:\\n" + text));
        }, ${limitMs});
        observer.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
        check();
      })`;
      return within(
        evaluate<T>(expression),
        limitMs + 10_000,
        () => `the page did not answer while waiting for ${what}`,
      );
    },
    async screenshot() {
      const metrics = await send("Page.getLayoutMetrics") as {
        cssContentSize: { width: number; height: number };
      };
      const { width, height } = metrics.cssContentSize;
      const { data } = await send("Page.captureScreenshot", {
        format: "png",
        captureBeyondViewport: true,
        clip: { x: 0, y: 0, width: Math.ceil(width), height: Math.ceil(height), scale: 1 },
      }) as { data: string };
      return Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    },
  };
}

/** Ids of processes whose command line names `profile` (Linux: read from /proc). */
function leftovers(profile: string): number[] {
  const found: number[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return found; // no /proc: nothing to look at
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes(`--user-data-dir=${profile}`)) {
        const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        // A zombie ("Z") has exited already; its parent reaps it.
        if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z") {
          found.push(Number(entry.name));
        }
      }
    } catch {
      // It exited while we looked.
    }
  }
  return found;
}
