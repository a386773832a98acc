// The command line's `--dashboard [PORT]` flag of `run`: the live page of
// the pipeline, served on 127.0.0.1 while the run lasts (see
// pipeline/dashboard.ts). The flag's value is optional, so only a number
// right after it is taken as the port.

import { type Dashboard, type DashboardSource, serveDashboard } from "./pipeline/dashboard.ts";

/** The port of `--dashboard` without a value. */
export const DASHBOARD_PORT = 8350;

/** Where the dashboard listens: this machine only. */
const HOSTNAME = "127.0.0.1";

/**
 * Reads `--dashboard`, `--dashboard PORT` or `--dashboard=PORT` at
 * `args[at]`: the port and the index of the last argument it used, or what
 * is wrong with it.
 */
export function parseDashboardFlag(
  args: readonly string[],
  at: number,
): { port: number; last: number } | string {
  const arg = args[at]!;
  if (arg.startsWith("--dashboard=")) {
    const port = portOf(arg.slice("--dashboard=".length));
    return port === undefined ? badPort(arg.slice("--dashboard=".length)) : { port, last: at };
  }
  const next = args[at + 1];
  if (next !== undefined && /^\d+$/.test(next)) {
    const port = portOf(next);
    return port === undefined ? badPort(next) : { port, last: at + 1 };
  }
  return { port: DASHBOARD_PORT, last: at };
}

function portOf(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function badPort(text: string): string {
  return `--dashboard PORT must be an integer from 0 to 65535 (0: a free port), got ${
    JSON.stringify(text)
  }`;
}

/**
 * Serves the dashboard of `pipeline` on 127.0.0.1:`port` and says where on
 * stderr (`write`); what went wrong when it cannot listen.
 */
export async function openDashboard(
  pipeline: DashboardSource,
  port: number,
  write: (text: string) => void,
): Promise<Dashboard | string> {
  try {
    const dashboard = await serveDashboard(pipeline, { port, hostname: HOSTNAME });
    write(`dashboard on ${dashboard.url} (only this machine: ${HOSTNAME})\n`);
    return dashboard;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return `--dashboard ${port}: cannot listen on ${HOSTNAME}:${port}: ${why}`;
  }
}
