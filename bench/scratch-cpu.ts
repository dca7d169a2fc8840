import path from 'node:path';
import { parseBenchConfig } from './bench-config.js';
import { openEmulatorSession } from './emulator-session.js';
import { measureCpu } from './cpu-scenario.js';

const config = parseBenchConfig(process.env);
const session = await openEmulatorSession(process.env);
const relayEnv = Object.fromEntries(
  (process.env.SCRATCH_ENV ?? '')
    .split(';')
    .filter((p) => p)
    .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
);
try {
  const r = await measureCpu({
    config,
    session,
    projectRoot: process.env.BENCH_FUNCTION_ROOT ?? path.resolve('.'),
    relayEnv,
    progress: (l) => process.stderr.write(l + '\n'),
  });
  console.log(JSON.stringify({ ...r, rounds: undefined }));
} finally {
  await session.close();
}
