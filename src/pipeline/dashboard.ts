/**
 * `serveDashboard`: a live page of a pipeline's statistics, served by the
 * process that runs it (one HTML file with its own CSS and JS: no build
 * step, no CDN, works offline). `GET /` is the page; `GET /stats` the
 * snapshot it polls twice a second, as JSON.
 *
 * @module
 */

import { checkOptions } from "../_internal/options.ts";
import type { PoolStats } from "../exec/pool_types.ts";
import { DASHBOARD_PAGE } from "./_dashboard_page.ts";
import { DASHBOARD_OPTIONS } from "./options.ts";
import { bottleneck, type PipelineStageStats, type PipelineStats } from "./stats.ts";

/** What a dashboard shows: a `Pipeline`, or anything else with its `stats()`. */
export interface DashboardSource {
  /**
   * A snapshot of the statistics; its `pools` (when present) are shown too.
   *
   * @returns The statistics now.
   */
  stats(): PipelineStats;
}

/** Where a dashboard listens, and what closes it. */
export interface DashboardOptions {
  /**
   * The TCP port to listen on; 0 picks a free one (read it from `Dashboard.port`).
   *
   * @default {0}
   */
  port?: number;
  /**
   * The address to listen on. The default serves this machine only; `"0.0.0.0"` serves every
   * network the machine is on, to anyone who can reach it.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** Aborting it closes the dashboard (as `close()` does). */
  signal?: AbortSignal;
}

/**
 * The JSON of `GET /stats`: the source's statistics, the stage the
 * statistics name as the bottleneck (absent when none stands out, see
 * `bottleneck()`), and the pools' statistics. A stage's `concurrency` of
 * `Infinity` (no limit) is written as `null`, as `JSON.stringify` writes it.
 */
export interface DashboardStats {
  /** Milliseconds since the pipeline started. */
  elapsedMs: number;
  /** Whether the pipeline has finished. */
  done: boolean;
  /** One entry per stage, from source to sink. */
  stages: PipelineStageStats[];
  /** The stage that holds the pipeline back, if one stands out. */
  bottleneck: string | undefined;
  /** The pools the stages run on (empty when the source reports none). */
  pools: PoolStats[];
}

/** A dashboard being served; `close()` (or `await using`) stops it. */
export interface Dashboard extends AsyncDisposable {
  /** The page's address, e.g. `http://127.0.0.1:8350/`. */
  readonly url: string;
  /** The port it listens on (the one picked when `port` was 0). */
  readonly port: number;
  /** The address it listens on. */
  readonly hostname: string;
  /**
   * Stops listening and ends the open connections. Idempotent.
   *
   * @returns When the server is gone.
   */
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  // The page loads nothing from anywhere, and talks only to this server.
  "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; " +
    "style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; " +
    "form-action 'none'; frame-ancestors 'none'",
};

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/**
 * Serves a live dashboard of `source` (a `Pipeline`): a page that shows,
 * updating every 500 ms while it runs, the items/s of each stage and a
 * line of it over time, tasks in flight against concurrency, how often
 * each output buffer held items (occupancy) and was full (fullness), the
 * bottleneck highlighted, and each pool's workers, busy or idle (for a
 * `NatsPool`, its remote workers). It listens on 127.0.0.1 unless told
 * otherwise, so only this machine can open it; it prints nothing.
 *
 * On a loopback address, a request whose `Host` is not that address (or
 * `localhost`) with the dashboard's port is refused (403), so that a web
 * page elsewhere cannot read the statistics by pointing a name of its own
 * at 127.0.0.1.
 *
 * @param source What to show: a `Pipeline`, or any object with its `stats()`.
 * @param options `port` (default 0: a free one), `hostname` (default
 *   `"127.0.0.1"`), `signal` (aborting it closes the dashboard).
 * @returns The dashboard, listening.
 * @throws {TypeError} When an option is unknown or has the wrong type, or `source` has no `stats()`.
 * @throws {RangeError} When `port` is not an integer from 0 to 65535.
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 *
 * @example Watch a pipeline while it runs
 * ```ts
 * import { PipelineBuilder, serveDashboard } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * await using pipeline = new PipelineBuilder()
 *   .addSource([1, 2, 3])
 *   .pipe((x: number) => x * 2, { name: "double" })
 *   .addSink()
 *   .build();
 * await using dashboard = await serveDashboard(pipeline);
 * assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
 * assert.deepEqual(await Array.fromAsync(pipeline), [2, 4, 6]);
 * const stats = await (await fetch(new URL("stats", dashboard.url))).json();
 * assert.equal(stats.done, true);
 * assert.equal(stats.stages.find((s: { name: string }) => s.name === "double").itemsOut, 3);
 * const page = await fetch(dashboard.url);
 * assert.match(page.headers.get("content-type")!, /^text\/html/);
 * await page.body?.cancel();
 * ```
 */
export function serveDashboard(
  source: DashboardSource,
  options?: DashboardOptions,
): Promise<Dashboard> {
  try {
    const checked = checkOptions("serveDashboard", DASHBOARD_OPTIONS, options);
    if (typeof (source as Partial<DashboardSource> | null)?.stats !== "function") {
      throw new TypeError("serveDashboard: source must have a stats() method (a Pipeline)");
    }
    checked.signal?.throwIfAborted();
    return Promise.resolve(new DashboardServer(source, checked));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The snapshot `GET /stats` sends. */
function snapshot(source: DashboardSource): DashboardStats {
  const stats = source.stats();
  return {
    elapsedMs: stats.elapsedMs,
    done: stats.done,
    stages: stats.stages,
    bottleneck: bottleneck(stats),
    pools: stats.pools ?? [],
  };
}

class DashboardServer implements Dashboard {
  readonly url: string;
  readonly port: number;
  readonly hostname: string;
  readonly #source: DashboardSource;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #signal: AbortSignal | undefined;
  readonly #hosts: Set<string> | undefined;
  #closing: Promise<void> | undefined;

  constructor(source: DashboardSource, options: DashboardOptions) {
    this.#source = source;
    this.hostname = options.hostname ?? "127.0.0.1";
    this.#server = Deno.serve({
      port: options.port ?? 0,
      hostname: this.hostname,
      onListen: () => {}, // prints nothing
      onError: () => new Response("Internal Server Error", { status: 500 }),
    }, (request) => this.#answer(request));
    this.port = this.#server.addr.port;
    const host = this.hostname.includes(":") ? `[${this.hostname}]` : this.hostname;
    this.url = `http://${host}:${this.port}/`;
    if (LOOPBACK.has(this.hostname)) {
      this.#hosts = new Set(
        ["127.0.0.1", "localhost", "[::1]"].map((name) => `${name}:${this.port}`),
      );
    }
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#aborted, { once: true });
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#signal?.removeEventListener("abort", this.#aborted);
      this.#closing = this.#server.shutdown().then(() => this.#server.finished);
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  readonly #aborted = (): void => void this.close();

  #answer(request: Request): Response {
    const url = new URL(request.url);
    if (this.#hosts !== undefined && !this.#hosts.has(url.host)) {
      return new Response("Forbidden: unexpected Host header\n", { status: 403 });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    switch (url.pathname) {
      case "/":
        return new Response(DASHBOARD_PAGE, { headers: PAGE_HEADERS });
      case "/stats":
        return new Response(JSON.stringify(snapshot(this.#source)), { headers: JSON_HEADERS });
      default:
        return new Response("Not Found\n", { status: 404 });
    }
  }
}
