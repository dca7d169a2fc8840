import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Firestore } from '@google-cloud/firestore';
import { emulatorFirestore } from '../../support/outbox-fixtures.js';
import { PROJECT_ROOT } from '../../support/project-root.js';

/*
 * outbound-event-handler-producer and -inbox as a service gets them: each packed by `npm pack` (which builds it),
 * unpacked into a service of its own outside the repository, next to nothing but the dependencies its
 * package.json declares, so a file missing from the tarball or an undeclared import fails to load here.
 */

const run = promisify(execFile);
const SERVICE_ENV = {
  PATH: `${path.dirname(process.execPath)}${path.delimiter}/usr/bin:/bin`,
  GOOGLE_CLOUD_PROJECT: process.env.GOOGLE_CLOUD_PROJECT,
  FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
  METADATA_SERVER_DETECTION: 'none',
};

interface Packed {
  readonly name: string;
  readonly files: readonly string[];
  /** A service directory whose node_modules holds the unpacked package and its declared dependencies only. */
  readonly service: string;
}

/** npm pack of one workspace package, unpacked into a fresh service directory under `parent`. */
async function packIntoService(location: string, parent: string): Promise<Packed> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', parent], {
    cwd: path.join(PROJECT_ROOT, location),
    maxBuffer: 16 * 1024 * 1024,
  });
  const [report] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{
    name: string;
    filename: string;
    files: Array<{ path: string }>;
  }>;
  if (report === undefined) throw new Error(`npm pack of ${location} reported nothing`);
  const service = path.join(parent, `service-${report.name}`);
  const installed = path.join(service, 'node_modules', report.name);
  await mkdir(installed, { recursive: true });
  await writeFile(path.join(service, 'package.json'), JSON.stringify({ type: 'module' }));
  await run('tar', ['-xzf', path.join(parent, report.filename), '-C', installed, '--strip-components=1']);
  const manifest = JSON.parse(await readFile(path.join(PROJECT_ROOT, location, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const dependencies = manifest.dependencies ?? {};
  for (const name of Object.keys(dependencies)) {
    await mkdir(path.dirname(path.join(service, 'node_modules', name)), { recursive: true });
    await symlink(path.join(PROJECT_ROOT, 'node_modules', name), path.join(service, 'node_modules', name), 'dir');
  }
  return { name: report.name, files: report.files.map((file) => file.path).sort(), service };
}

/** Runs an ES module in the service directory, as the service would, and parses the JSON of its last line (the inbox logs before it). */
async function runInService(service: string, source: string): Promise<unknown> {
  const file = path.join(service, 'main.js');
  await writeFile(file, source);
  const { stdout } = await run(process.execPath, [file], { cwd: service, env: SERVICE_ENV });
  return JSON.parse(stdout.trimEnd().split('\n').at(-1) ?? '') as unknown;
}

let parent: string;
let producer: Packed;
let inbox: Packed;
let db: Firestore;

beforeAll(async () => {
  parent = await mkdtemp(path.join(os.tmpdir(), 'packed-'));
  producer = await packIntoService('packages/producer', parent);
  inbox = await packIntoService('packages/inbox', parent);
  db = emulatorFirestore();
}, 300_000);
afterAll(async () => {
  await db?.terminate();
  if (parent !== undefined) await rm(parent, { recursive: true, force: true });
});

describe('Packages: packed and installed alone', () => {
  it.each([
    ['producer', 'dist/producer/index.js'],
    ['inbox', 'dist/inbox/index.js'],
  ])('the %s tarball ships its compiled entry with declarations, README.md, LICENSE and package.json, and no sources', (part, entry) => {
    const { files } = part === 'producer' ? producer : inbox;

    expect(files).toEqual(expect.arrayContaining([entry, entry.replace(/\.js$/, '.d.ts'), 'README.md', 'LICENSE', 'package.json']));
    expect(files.filter((file) => !file.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(file))).toEqual([]);
    expect(files.filter((file) => !/\.(js|d\.ts)$/.test(file) && file.startsWith('dist/'))).toEqual([]);
  });

  it('the producer, with only its declared dependencies, writes an event in the service’s transaction', async () => {
    const collection = `outbox_packed_${Date.now()}`;

    const written = (await runInService(
      producer.service,
      `import { Firestore } from '@google-cloud/firestore';
import { createOutbox } from 'outbound-event-handler-producer';
const firestore = new Firestore();
const outbox = createOutbox(firestore, { collection: '${collection}', shardCount: 1 });
const id = await firestore.runTransaction(async (tx) => {
  tx.create(firestore.doc('orders_packed/42'), { total: 9.5 });
  return outbox.enqueue(tx, { type: 'com.example.order.created', data: { orderId: 42 } });
});
await firestore.terminate();
console.log(JSON.stringify({ id }));
`,
    )) as { id: string };
    const event = await db.collection(collection).doc(written.id).get();

    expect(event.get('status')).toBe('pending');
    expect(event.get('type')).toBe('com.example.order.created');
  });

  it('the inbox, with only its declared dependencies, applies a message once and answers its redelivery as a duplicate', async () => {
    const collection = `inbox_packed_${Date.now()}`;

    const outcomes = await runInService(
      inbox.service,
      `import { Firestore } from '@google-cloud/firestore';
import { FirestoreInbox } from 'outbound-event-handler-inbox';
const firestore = new Firestore();
const inbox = new FirestoreInbox(firestore, { collection: '${collection}', consumer: 'ledger', inProgressTtlMs: 60_000, retentionMs: 3_600_000 });
const outcomes = [];
for (let delivery = 0; delivery < 2; delivery += 1) {
  const result = await inbox.process('evt-1', async () => 'applied once');
  outcomes.push(result.status);
}
await firestore.terminate();
console.log(JSON.stringify(outcomes));
`,
    );

    expect(outcomes).toEqual(['applied', 'duplicate']);
  });
});
