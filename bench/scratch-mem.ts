import path from 'node:path';
import { parseBenchConfig } from './bench-config.js';
import { openEmulatorSession } from './emulator-session.js';
import { measurePeakMemory } from './memory-scenario.js';

const config = parseBenchConfig(process.env);
const session = await openEmulatorSession(process.env);
const relayEnv = Object.fromEntries(
  (process.env.SCRATCH_ENV ?? '')
    .split(';')
    .filter((p) => p)
    .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
);
try {
  const r = await measurePeakMemory({
    config,
    session,
    projectRoot: path.resolve('.'),
    relayEnv,
    progress: (l) => process.stderr.write(l + '\n'),
  });
  console.log(JSON.stringify(r.runs.map((x) => ({ o: x.nodeOptions, peak: (x.peakRssBytes ?? 0) / 2 ** 20, d: x.drain.delivered }))));
} finally {
  await session.close();
}
