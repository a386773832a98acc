// Takes the README's screenshot of the live dashboard (docs/dashboard.png):
// a pipeline with a slow middle stage and a kernel on two workers,
// served by `serveDashboard` and photographed by headless Chromium once the
// page has drawn 20 s of rates and named the bottleneck.
//
//   deno run -A tools/dashboard_screenshot.ts [out.png]
//
// Needs Debian's `chromium` (.ci/run installs it) or `$CHROMIUM`.

import { dirname } from "node:path";
import { kernel, PipelineBuilder, serveDashboard, type TaskContext } from "../mod.ts";
import { launchBrowser } from "../tests/_browser.ts";
import { sleep } from "../tests/_util.ts";

const out = Deno.args[0] ?? new URL("../docs/dashboard.png", import.meta.url).pathname;
const fixtures = new URL("../tests/fixtures/kernels.ts", import.meta.url);
/** How many 500 ms polls of rates the sparklines show before the picture. */
const POINTS = 40;

/** Numbers from 0 up, for ever. */
function* frames(): Generator<number> {
  for (let i = 0;; i++) yield i;
}

const pipeline = new PipelineBuilder()
  .addSource(frames())
  .pipe(async (x: number, { signal }: TaskContext) => {
    await sleep(4, signal);
    return x;
  }, { name: "decode", concurrency: 4 })
  // The slow stage, its pace swinging slowly so the rate line has a shape.
  .pipe(async (x: number, { signal }: TaskContext) => {
    await sleep(20 + 10 * Math.sin(x / 40), signal);
    return 8 + (x % 5); // how long encode takes, in ms
  }, { name: "resize", concurrency: 1 })
  .pipe(kernel<(ms: number) => Promise<number>>(fixtures, "nap"), { name: "encode" })
  .aggregate(8)
  .pipe(async (batch: number[], { signal }: TaskContext) => {
    await sleep(5, signal);
    return batch.length;
  }, { name: "upload", concurrency: 2 })
  .addSink()
  .build({ numThreads: 2 });
const drained = (async () => {
  for await (const _ of pipeline) {
    // Read as fast as it comes.
  }
})();
const dashboard = await serveDashboard(pipeline);
const browser = await launchBrowser({ width: 1200, height: 450 });
try {
  const page = await browser.newPage();
  await page.goto(dashboard.url);
  await page.waitFor(
    `() => document.querySelector('tr[data-stage="upload"] polyline')
      ?.getAttribute("points").split(" ").length >= ${POINTS}`,
    `${POINTS} points of rates`,
    POINTS * 500 + 30_000,
  );
  await page.waitFor(`() => document.querySelector("tr.bottleneck")`, "a bottleneck", 30_000);
  const png = await page.screenshot();
  await Deno.mkdir(dirname(out), { recursive: true });
  await Deno.writeFile(out, png);
  console.log(`wrote ${out} (${png.length} bytes)`);
} finally {
  await pipeline.stop();
  await drained;
  await browser.close();
  await dashboard.close();
}
