import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchConfig } from './bench-config.js';
import { readDeployProfile } from './deploy-profile.js';
import { openEmulatorSession } from './emulator-session.js';
import { drainWithFunctions } from './function-drain.js';
import { collectionsFor, functionsFor, withRouter, type ScenarioContext } from './scenario-context.js';
import { seedPending } from './seed-outbox.js';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string } }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The part of the code a script URL belongs to: an npm package, Node itself, or the relay. */
export function partOf(url: string, functionName: string): string {
  if (url === '') {
    // V8's own entries keep their names; the rest without a script is native code or code made at run time
    // (protobufjs compiles the Firestore messages' encoders and decoders with `new Function`).
    if (/^\((garbage collector|program|idle|root)\)$/.test(functionName)) return functionName;
    return '(builtins, native and generated code: protobufjs codecs, RegExps)';
  }
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node (http, net, streams, timers…)';
  if (url.includes('/dist/')) return 'the relay (dist/)';
  if (url.includes('/bench/')) return 'the bench probe';
  return url;
}

function table(rows: readonly (readonly [string, number])[], total: number, events: number): string {
  const lines = ['| part | ms | share | per event |', '|---|---|---|---|'];
  for (const [part, ms] of rows) {
    lines.push(`| ${part} | ${ms.toFixed(1)} | ${((ms / total) * 100).toFixed(1)} % | ${(ms / events).toFixed(4)} ms |`);
  }
  return lines.join('\n');
}

/** Drains once with the CPU profiler on and prints where the time went, per package. */
export async function runProfile(): Promise<number> {
  const config = parseBenchConfig(process.env);
  const deploy = await readDeployProfile(PROJECT_ROOT);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-cpu-prof-'));
  const relayEnv = { NODE_OPTIONS: `${deploy.nodeOptions} --cpu-prof --cpu-prof-dir=${dir}`.trim(), ...config.relayEnv };
  const session = await openEmulatorSession(process.env);
  const progress = (line: string): void => void process.stderr.write(`${line}\n`);
  const context: ScenarioContext = { config, session, projectRoot: PROJECT_ROOT, relayEnv, progress };
  let delivered: number;
  try {
    const collections = collectionsFor('cpuprof');
    await seedPending(session.firestore, collections.outbox, config.events, { shardCount: 1, parallelCommits: config.seedParallelCommits });
    const drain = await withRouter(0, (router) => drainWithFunctions(functionsFor(context, collections, router.url)));
    delivered = Math.max(1, drain.delivered);
    progress(`drained ${drain.delivered} events; function CPU ${drain.cpu.functionsSeconds.toFixed(2)} s; profile in ${dir}`);
  } finally {
    await session.close();
  }
  const files = (await readdir(dir)).filter((file) => file.endsWith('.cpuprofile'));
  const byPart = new Map<string, number>();
  for (const file of files) {
    const cpu = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
    const part = new Map(cpu.nodes.map((node) => [node.id, partOf(node.callFrame.url, node.callFrame.functionName)]));
    cpu.samples.forEach((id, index) => {
      const key = part.get(id) ?? '(unknown)';
      byPart.set(key, (byPart.get(key) ?? 0) + (cpu.timeDeltas[index] ?? 0) / 1000);
    });
  }
  byPart.delete('(idle)');
  const rows = [...byPart.entries()].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, amount]) => sum + amount, 0);
  process.stdout.write(
    `Self time per part over one drain of ${delivered} events (the process's whole life, start-up and the ` +
      `profiler's own cost included; idle left out):\n\n${table(rows, total, delivered)}\n`,
  );
  return 0;
}
