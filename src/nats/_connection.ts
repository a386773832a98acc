// Connecting to NATS (reconnecting for ever, so a server restart is a pause,
// not a failure) and making sure a pool's streams and its workers' consumer
// exist.

import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { names } from "./_protocol.ts";

/** How to reach the servers; auth options pass through to the connection. */
export interface ConnectionOptions {
  servers: string | string[];
  name?: string | undefined;
  user?: string | undefined;
  pass?: string | undefined;
  token?: string | undefined;
}

/** How long a result stays stored when its client never reads it. */
const RESULTS_MAX_AGE_MS = 60 * 60 * 1000;
const NS = 1_000_000;

/** A connection that reconnects for ever. */
export async function open(
  options: ConnectionOptions,
  waitForServer: boolean,
): Promise<NatsConnection> {
  return await connect({
    servers: options.servers,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.user === undefined ? {} : { user: options.user }),
    ...(options.pass === undefined ? {} : { pass: options.pass }),
    ...(options.token === undefined ? {} : { token: options.token }),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 2000,
    maxPingOut: 2,
    waitOnFirstConnect: waitForServer,
  });
}

/** Creates pool `pool`'s streams and consumer when missing; sets the consumer's ack wait. */
export async function ensurePool(
  nc: NatsConnection,
  pool: string,
  ackWaitMs: number | undefined,
): Promise<JetStreamManager> {
  const n = names(pool);
  const jsm = await jetstreamManager(nc);
  await addOrKeep(() =>
    jsm.streams.add({
      name: n.tasks,
      subjects: [n.taskSubject("*")],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    })
  );
  await addOrKeep(() =>
    jsm.streams.add({
      name: n.results,
      subjects: [n.resultSubject("*")],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: RESULTS_MAX_AGE_MS * NS,
    })
  );
  const wanted = (ackWaitMs ?? 30_000) * NS;
  try {
    const info = await jsm.consumers.info(n.tasks, n.consumer);
    if (ackWaitMs !== undefined && info.config.ack_wait !== wanted) {
      await jsm.consumers.update(n.tasks, n.consumer, { ack_wait: wanted });
    }
  } catch {
    await addOrKeep(() =>
      jsm.consumers.add(n.tasks, {
        durable_name: n.consumer,
        ack_policy: AckPolicy.Explicit,
        ack_wait: wanted,
        max_ack_pending: -1,
      })
    );
  }
  return jsm;
}

// Adding what another party added first (with its own settings) is fine.
async function addOrKeep(add: () => Promise<unknown>): Promise<void> {
  try {
    await add();
  } catch (error) {
    if (!/already in use|already exists/i.test(String((error as Error).message))) throw error;
  }
}
