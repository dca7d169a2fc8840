import { startDelayRouter } from './delay-router.js';
import { measureRawLimit } from './raw-limit.js';

/** Scratch: raw sender CPU per POST, a few rounds at 0 ms. */
const router = await startDelayRouter(0);
for (let round = 0; round < 4; round += 1) {
  const r = await measureRawLimit({ routerUrl: router.url, events: 10_000, concurrency: 32 }, 120_000);
  process.stdout.write(
    `round ${round}: ${((r.cpuSeconds * 1000) / r.ok).toFixed(3)} ms/POST, ${r.eventsPerSecond.toFixed(0)}/s ok=${r.ok}\n`,
  );
}
await router.close();
