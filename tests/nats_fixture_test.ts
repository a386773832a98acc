// The NATS fixture itself: a real server that comes up with JetStream,
// keeps its store across stop/kill and restart, and leaves nothing behind.

import assert from "node:assert/strict";
import { childProcesses, freePort, type NatsServer, spawnDeno, startNats } from "./_nats.ts";

/** Whether a process with this id exists (a reaped child does not). */
function exists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Speaks just enough of the NATS protocol to send one request and read the
 * reply: returns the INFO the server greets with and the reply's payload.
 */
async function request(
  server: NatsServer,
  subject: string,
  payload: string,
): Promise<{ info: Record<string, unknown>; reply: Record<string, unknown> }> {
  const connection = await Deno.connect({ hostname: server.host, port: server.port });
  try {
    const body = new TextEncoder().encode(payload);
    await connection.write(new TextEncoder().encode(
      `CONNECT {"verbose":false,"pedantic":false,"headers":false}\r\n` +
        `SUB _INBOX.fixture 1\r\nPUB ${subject} _INBOX.fixture ${body.length}\r\n${payload}\r\n`,
    ));
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(65536);
    let text = "";
    for (;;) {
      const read = await connection.read(buffer);
      if (read === null) throw new Error(`The server closed the connection; it sent:\n${text}`);
      text += decoder.decode(buffer.subarray(0, read), { stream: true });
      // INFO {...}\r\n ... MSG _INBOX.fixture 1 <bytes>\r\n<payload>\r\n
      const message = /MSG _INBOX\.fixture 1 (\d+)\r\n/.exec(text);
      if (!message) continue;
      const start = message.index + message[0].length;
      const bytes = new TextEncoder().encode(text.slice(start));
      const size = Number(message[1]);
      if (bytes.length < size + 2) continue;
      const info = JSON.parse(/^INFO (.*)\r\n/.exec(text)![1]!);
      return { info, reply: JSON.parse(decoder.decode(bytes.subarray(0, size))) };
    }
  } finally {
    connection.close();
  }
}

/** The JetStream streams' names, through the JetStream API. */
async function streamNames(server: NatsServer): Promise<string[]> {
  const { reply } = await request(server, "$JS.API.STREAM.NAMES", "{}");
  return (reply.streams as string[] | null) ?? [];
}

Deno.test("startNats() serves JetStream, and restart() brings it back on the same port and store", async () => {
  const pids: number[] = [];
  let store: string;
  {
    await using server = await startNats();
    store = server.store;
    assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
    assert.ok(server.running);
    pids.push(server.pid!);

    const created = await request(
      server,
      "$JS.API.STREAM.CREATE.FIXTURE",
      JSON.stringify({ name: "FIXTURE", subjects: ["fixture.>"], storage: "file" }),
    );
    assert.equal(created.info.jetstream, true);
    assert.equal(created.info.port, server.port);
    assert.equal(created.reply.error, undefined, JSON.stringify(created.reply));
    const jsz = await server.jsz();
    assert.equal((jsz.config as { store_dir: string }).store_dir, `${store}/jetstream`);
    assert.equal(jsz.streams, 1);

    await server.stop();
    assert.equal(server.running, false);
    assert.equal(server.pid, undefined);
    assert.equal(exists(pids[0]!), false, "stop() leaves the server process behind");
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.port }));

    await server.restart();
    assert.ok(server.running);
    pids.push(server.pid!);
    assert.notEqual(pids[1], pids[0]);
    assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
    assert.deepEqual(await streamNames(server), ["FIXTURE"]);
    assert.equal((await server.jsz()).streams, 1);

    // SIGKILL, as a crash: the file store is still there after restart.
    await server.kill();
    assert.equal(exists(pids[1]!), false, "kill() leaves the server process behind");
    await server.restart();
    pids.push(server.pid!);
    assert.deepEqual(await streamNames(server), ["FIXTURE"]);
    assert.match(server.log(), /--- restarted ---[^]*--- restarted ---[^]*Server is ready/);
  }
  for (const pid of pids) assert.equal(exists(pid), false, `nats-server ${pid} is still running`);
  assert.deepEqual(await childProcesses(), []);
  await assert.rejects(Deno.stat(store), Deno.errors.NotFound, "dispose leaves the store behind");
});

Deno.test("startNats() keeps a store it was given, and a second server starts on it", async () => {
  const store = await Deno.makeTempDir({ prefix: "conveyor_nats_given_" });
  try {
    {
      await using server = await startNats({ store });
      assert.equal(server.store, store);
      const created = await request(
        server,
        "$JS.API.STREAM.CREATE.KEPT",
        JSON.stringify({ name: "KEPT", subjects: ["kept"], storage: "file" }),
      );
      assert.equal(created.reply.error, undefined, JSON.stringify(created.reply));
    }
    assert.ok((await Deno.stat(`${store}/jetstream`)).isDirectory);
    await using again = await startNats({ store });
    assert.deepEqual(await streamNames(again), ["KEPT"]);
  } finally {
    await Deno.remove(store, { recursive: true });
  }
});

Deno.test("startNats() on a port in use fails at once with the server's log", async () => {
  const port = freePort();
  using _taken = Deno.listen({ hostname: "127.0.0.1", port });
  await assert.rejects(
    startNats({ port }),
    (error: Error) => {
      assert.match(
        error.message,
        new RegExp(`nats-server on 127\\.0\\.0\\.1:${port} exited early`),
      );
      assert.match(error.message, /address already in use/);
      return true;
    },
  );
  assert.deepEqual(await childProcesses(), []);
});

Deno.test("spawnDeno() keeps the child's output and dispose kills it", async () => {
  let pid: number;
  {
    await using child = spawnDeno([
      "eval",
      "console.log('up'); console.error('on stderr'); setInterval(() => {}, 1000);",
    ]);
    pid = child.pid;
    await child.waitFor("on stderr");
    await child.waitFor(/^up$/m);
    assert.ok(child.running);
  }
  assert.equal(exists(pid), false);

  const ended = spawnDeno(["eval", "console.log(Deno.env.get('FIXTURE_VALUE')); Deno.exit(3)"], {
    env: { FIXTURE_VALUE: "passed" },
  });
  await assert.rejects(ended.waitFor("never printed"), /exited before printing never printed/);
  const status = await ended.status;
  assert.equal(status.code, 3);
  assert.equal(ended.running, false);
  assert.equal(ended.log().trim(), "passed");
  ended.kill("SIGKILL"); // After the exit: nothing to do.

  await using stopped = spawnDeno(["eval", "setInterval(() => {}, 1000)"]);
  stopped.kill("SIGTERM");
  assert.equal((await stopped.status).signal, "SIGTERM");
  assert.deepEqual(await childProcesses(), []);
});
