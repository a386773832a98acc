// The dashboard in a real browser: a pipeline runs with `serveDashboard`,
// headless Chromium (Debian's `chromium`, driven over the DevTools protocol
// by tests/_browser.ts) opens the page, and the test reads what the page
// itself shows as it polls. The source is held shut until the page has
// shown the stages at 0 items/s, so the rise is the page's own doing and
// no step depends on how fast anything runs.

import assert from "node:assert/strict";
import { kernel, PipelineBuilder, serveDashboard, type TaskContext } from "../mod.ts";
import { launchBrowser } from "./_browser.ts";
import { sleep } from "./_util.ts";

const fixtures = new URL("./fixtures/kernels.ts", import.meta.url);

/** The text of a stage's cell, as a predicate for `Page.waitFor` (undefined while absent). */
function cell(stage: string, field: string): string {
  return `document.querySelector('tr[data-stage="${stage}"] td[data-field="${field}"]')`;
}

/** Numbers from 0 up, for ever, once `open` resolves. */
async function* frames(open: Promise<void>): AsyncGenerator<number> {
  await open;
  for (let i = 0;; i++) yield i;
}

Deno.test("the dashboard shows the stages in Chromium, and their items/s rises while the pipeline runs", async () => {
  const { promise: opened, resolve: open } = Promise.withResolvers<void>();
  let profile = "";
  let processes = (): number[] => [];
  {
    await using pipeline = new PipelineBuilder()
      .addSource(frames(opened))
      .pipe(async (x: number, { signal }: TaskContext) => {
        await sleep(2, signal);
        return x;
      }, { name: "decode", concurrency: 2 })
      // Slower than decode with one task at a time: the bottleneck.
      .pipe(async (x: number, { signal }: TaskContext) => {
        await sleep(20, signal);
        return x;
      }, { name: "resize", concurrency: 1 })
      .pipe(kernel<(x: number) => number>(fixtures, "square"), { name: "encode" })
      .addSink()
      .build({ numThreads: 2 });
    // Closed last to first: the browser, then the dashboard, then the pipeline.
    await using dashboard = await serveDashboard(pipeline);
    await using browser = await launchBrowser();
    profile = browser.profile;
    processes = () => browser.processes();
    // The pipeline starts with the first read, once the browser is up: the
    // time the source is held shut stays short next to the time it flows.
    let received = 0;
    const drained = (async () => {
      for await (const _ of pipeline) received++;
    })();
    try {
      const page = await browser.newPage();
      await page.goto(dashboard.url);

      // The stages, by name, before any item flowed: 0 items/s.
      for (const name of ["decode", "resize", "encode"]) {
        await page.waitFor(
          `() => document.querySelector('tr[data-stage="${name}"]')`,
          `stage ${name}`,
        );
      }
      assert.equal(
        await page.waitFor(`() => document.getElementById("status").textContent`, "the status"),
        "running",
      );
      const before = await page.evaluate<string>(`${cell("decode", "rate")}.textContent`);
      assert.equal(Number(before), 0, `decode's items/s before the source opened: "${before}"`);
      assert.equal(await page.evaluate(`${cell("decode", "concurrency")}.textContent`), "2");
      assert.equal(await page.evaluate(`${cell("resize", "concurrency")}.textContent`), "1");

      // Let items flow: the page's rate goes above 0 for every stage.
      open();
      for (const name of ["decode", "resize", "encode"]) {
        const rate = await page.waitFor<string>(
          `() => { const c = ${
            cell(name, "rate")
          }; return Number(c.textContent) > 0 && c.textContent; }`,
          `items/s above 0 for ${name}`,
        );
        assert.match(rate, /^\d+(\.\d+)?$/, `${name}'s items/s is a plain number: "${rate}"`);
        assert.notEqual(rate, before);
      }
      for (const field of ["occupancy", "fullness"]) {
        assert.match(await page.evaluate<string>(`${cell("decode", field)}.textContent`), /^\d+%$/);
      }
      assert.match(
        await page.evaluate<string>(`${cell("resize", "inFlight")}.textContent`),
        /^[01]$/,
      );

      // resize's input stays full and its output empty: the page marks it.
      await page.waitFor(
        `() => document.querySelector('tr[data-stage="resize"]').classList.contains("bottleneck")`,
        "resize marked as the bottleneck",
      );
      assert.deepEqual(
        await page.evaluate(
          `[...document.querySelectorAll("tr.bottleneck")].map((row) => row.dataset.stage)`,
        ),
        ["resize"],
      );

      // The workers of the pipeline's pool, each busy or idle.
      const workers = await page.waitFor<string[]>(
        `() => { const w = [...document.querySelectorAll("[data-pool] [data-worker]")];
          return w.length === 2 && w.map((s) => s.className); }`,
        "two workers in the pool",
      );
      for (const state of workers) assert.match(state, /^(busy|idle)$/);

      // Stopped, the page says so.
      await pipeline.stop();
      await drained;
      assert.ok(received > 0);
      await page.waitFor(
        `() => document.getElementById("status").textContent === "done"`,
        "the status done",
      );
      assert.ok(processes().length > 0, "the browser's processes are found by its profile");
    } finally {
      open();
      await pipeline.stop();
      await drained;
    }
  }
  // Closed: none of the browser's processes is left, nor its profile.
  assert.deepEqual(processes(), []);
  await assert.rejects(Deno.stat(profile), Deno.errors.NotFound);
});
