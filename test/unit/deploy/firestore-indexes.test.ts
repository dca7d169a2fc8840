import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FieldPath, type Firestore } from '@google-cloud/firestore';
import { FirestoreOutboxStore } from '../../../src/adapters/firestore-outbox-store.js';
import { listDeadLetters } from '../../../src/cli/commands/dead-letters.js';
import { purgeDelivered } from '../../../src/cli/commands/purge.js';
import { redriveAllDeadLetters, redriveEvents } from '../../../src/cli/commands/redrive.js';
import { releaseKeys } from '../../../src/cli/commands/release-key.js';
import { readOutboxStatus } from '../../../src/cli/commands/status.js';
import { parseStoreConfig } from '../../../src/config.js';
import {
  QUERIES,
  indexNeed,
  servedBy,
  shapeKey,
  type Filter,
  type IndexFile,
  type QueryShape,
} from '../../../scripts/docs/firestore-indexes.js';
import { PROJECT_ROOT } from '../../support/project-root.js';

/*
 * Every query the relay and outbox-ops run must be served by firestore.indexes.json, or Firestore answers
 * FAILED_PRECONDITION in production (the emulator never does, so no other test would notice). The queries are
 * not read as text: the store and the CLI commands run here against a client that records the shape of each
 * query they send, and the shapes must be exactly those scripts/docs/firestore-indexes.ts declares (and the
 * docs list). Each is then checked against the index file the way Firestore decides.
 */

const indexFile = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'firestore.indexes.json'), 'utf8')) as IndexFile;
const config = parseStoreConfig({});

// ---------------------------------------------------------------------------------------------------------
// A Firestore client that answers every query with nothing and records its shape

type Op = Filter['op'];

class Recorder {
  readonly shapes = new Map<string, QueryShape>();

  record(shape: QueryShape): void {
    this.shapes.set(shapeKey(shape), shape);
  }
}

class RecordingQuery {
  constructor(
    private readonly recorder: Recorder,
    private readonly shape: QueryShape,
  ) {}

  where(field: string | FieldPath, op: Op, _value: unknown): RecordingQuery {
    return new RecordingQuery(this.recorder, { ...this.shape, filters: [...this.shape.filters, { field: fieldName(field), op }] });
  }

  orderBy(field: string | FieldPath, direction: 'asc' | 'desc' = 'asc'): RecordingQuery {
    const order = { field: fieldName(field), direction: direction === 'asc' ? ('ASCENDING' as const) : ('DESCENDING' as const) };
    return new RecordingQuery(this.recorder, { ...this.shape, orderBy: [...this.shape.orderBy, order] });
  }

  limit(): RecordingQuery {
    return this;
  }

  select(): RecordingQuery {
    return this;
  }

  startAfter(): RecordingQuery {
    return this;
  }

  /** Counts answer 1 for plain equality queries and 0 otherwise, so the stray sweep scans (and shows those queries). */
  count(): { get(): Promise<{ data(): { count: number } }> } {
    const shape: QueryShape = { ...this.shape, count: true };
    const count = shape.orderBy.length === 0 && shape.filters.every((f) => f.op === '==') ? 1 : 0;
    return {
      get: () => {
        this.recorder.record(shape);
        return Promise.resolve({ data: () => ({ count }) });
      },
    };
  }

  get(): Promise<{ docs: never[]; size: number; empty: boolean }> {
    this.recorder.record(this.shape);
    return Promise.resolve({ docs: [], size: 0, empty: true });
  }

  /** A streamed query needs the same index as a get() of its shape. */
  async *stream(): AsyncGenerator<never> {
    this.recorder.record(this.shape);
    await Promise.resolve();
    yield* [];
  }

  /** A real-time listener needs the same index as a query of its shape. */
  onSnapshot(): () => void {
    this.recorder.record(this.shape);
    return () => undefined;
  }

  doc(id: string): { id: string; path: string } {
    return { id, path: `${this.shape.collection}/${id}` };
  }
}

function fieldName(field: string | FieldPath): string {
  if (typeof field === 'string') return field;
  if (field.isEqual(FieldPath.documentId())) return '__name__';
  throw new Error('only FieldPath.documentId() is expected');
}

function recordingFirestore(recorder: Recorder): Firestore {
  const missing = { exists: false, get: () => undefined };
  const client = {
    collection: (collection: string) => new RecordingQuery(recorder, { collection, filters: [], orderBy: [] }),
    getAll: () => Promise.resolve([]),
    runTransaction: <T>(work: (tx: unknown) => Promise<T>) =>
      work({
        get: () => Promise.resolve(missing),
        getAll: () => Promise.resolve([]),
        update: () => undefined,
        set: () => undefined,
        delete: () => undefined,
      }),
  };
  return client as unknown as Firestore;
}

/** Runs every read the relay's store and each outbox-ops command make, with one shard and with several. */
async function queriesTheCodeRuns(): Promise<Map<string, QueryShape>> {
  const recorder = new Recorder();
  const firestore = recordingFirestore(recorder);
  const leaseRef = firestore.collection(config.leaseCollection).doc('lease');
  for (const shard of [
    { index: 0, count: 1 },
    { index: 0, count: 4 },
    { index: 1, count: 4 },
    { index: 3, count: 2, previousCount: 4 },
  ]) {
    const store = new FirestoreOutboxStore(firestore, { ...config, leaseRef, shard, deliveredRetentionDays: 7, now: () => 0 });
    await store.fetchPending(200, undefined, 16 * 1024 * 1024);
    await store.fetchStrays(200, { wholeOutbox: true });
    await store.fetchParkedKeys();
    store.watchPending(
      () => undefined,
      () => undefined,
    )();
  }
  await readOutboxStatus(firestore, config, 0);
  await listDeadLetters(firestore, config);
  await purgeDelivered(firestore, config, new Date(0), { dryRun: true });
  await purgeDelivered(firestore, config, new Date(0));
  await redriveAllDeadLetters(firestore, config);
  await redriveEvents(firestore, config, ['evt-1']);
  await releaseKeys(firestore, config, ['order-42']);
  return recorder.shapes;
}

// ---------------------------------------------------------------------------------------------------------

describe('Deployment: firestore.indexes.json', () => {
  let ran: Map<string, QueryShape>;

  beforeAll(async () => {
    ran = await queriesTheCodeRuns();
  });

  it('declares (in scripts/docs/firestore-indexes.ts, which the docs list) exactly the queries the relay and outbox-ops run', () => {
    const declared = new Set(QUERIES.map((query) => shapeKey(query.shape)));

    expect([...ran.keys()].filter((key) => !declared.has(key))).toEqual([]);
    expect([...declared].filter((key) => !ran.has(key))).toEqual([]);
  });

  it('serves every one of them, with its default collection names', () => {
    const unserved = [...ran.values()]
      .map((shape) => ({ query: shapeKey(shape), served: servedBy(shape, indexFile) }))
      .filter((q) => !q.served.ok);

    expect(unserved).toEqual([]);
  });

  it('still serves them with no single-field index on the sequential timestamps, which the composite indexes cover', () => {
    const timestamps = ['createdAt', 'deliveredAt', 'deadLetteredAt', 'lastAttemptAt', 'redrivenAt', 'nextAttemptAt', 'expireAt'];
    const exempted: IndexFile = {
      ...indexFile,
      fieldOverrides: [
        ...(indexFile.fieldOverrides ?? []).filter((o) => !(o.collectionGroup === 'outbound_events' && timestamps.includes(o.fieldPath))),
        ...timestamps.map((fieldPath) => ({ collectionGroup: 'outbound_events', fieldPath, indexes: [] })),
      ],
    };

    expect([...ran.values()].filter((shape) => !servedBy(shape, exempted).ok).map(shapeKey)).toEqual([]);
  });
});

describe('Function: indexNeed (Firestore’s rule for when a composite index is needed)', () => {
  const on = (filters: QueryShape['filters'], orderBy: QueryShape['orderBy'] = []): QueryShape => ({ collection: 'c', filters, orderBy });
  const asc = (field: string) => ({ field, direction: 'ASCENDING' as const });
  const desc = (field: string) => ({ field, direction: 'DESCENDING' as const });

  it.each<[string, QueryShape, ReturnType<typeof indexNeed>]>([
    ['no filter, no order', on([]), { kind: 'built-in' }],
    ['order by __name__ only', on([], [asc('__name__')]), { kind: 'built-in' }],
    ['one equality', on([{ field: 'a', op: '==' }]), { kind: 'single-field', field: 'a', direction: 'either' }],
    [
      'one equality, ordered by __name__',
      on([{ field: 'a', op: '==' }], [asc('__name__')]),
      { kind: 'single-field', field: 'a', direction: 'either' },
    ],
    [
      'equalities on two fields (index merging)',
      on([
        { field: 'a', op: '==' },
        { field: 'b', op: '==' },
      ]),
      { kind: 'merged', fields: ['a', 'b'] },
    ],
    ['a range on one field', on([{ field: 'a', op: 'not-in' }]), { kind: 'single-field', field: 'a', direction: 'ASCENDING' }],
    ['an order on one field', on([], [desc('a')]), { kind: 'single-field', field: 'a', direction: 'DESCENDING' }],
    [
      'equality and a range on another field',
      on([
        { field: 'a', op: '==' },
        { field: 'b', op: '>' },
      ]),
      { kind: 'composite', equals: ['a'], order: [asc('b')] },
    ],
    [
      'equality and an order on another field',
      on([{ field: 'a', op: '==' }], [desc('b'), desc('__name__')]),
      { kind: 'composite', equals: ['a'], order: [desc('b')] },
    ],
    [
      'an order whose __name__ runs the other way',
      on([], [asc('a'), desc('__name__')]),
      { kind: 'composite', equals: [], order: [asc('a'), desc('__name__')] },
    ],
  ])('%s', (_case, shape, need) => {
    expect(indexNeed(shape)).toEqual(need);
  });

  it.each<[string, string, boolean]>([
    ['the equality fields in another order', 'shard asc, status asc, createdAt asc', true],
    ['an equality field in the other direction', 'status asc, shard desc, createdAt asc', true],
    ['the ordered field in the other direction', 'status asc, shard asc, createdAt desc', false],
    ['an equality field missing', 'status asc, createdAt asc', false],
  ])('finds, or not, a composite index for two equalities and an order: %s', (_case, fields, served) => {
    const shape = on(
      [
        { field: 'status', op: '==' },
        { field: 'shard', op: '==' },
      ],
      [asc('createdAt')],
    );
    const file: IndexFile = {
      indexes: [
        {
          collectionGroup: 'c',
          queryScope: 'COLLECTION',
          fields: fields.split(', ').map((field) => {
            const [fieldPath = '', order] = field.split(' ');
            return { fieldPath, order: order === 'asc' ? ('ASCENDING' as const) : ('DESCENDING' as const) };
          }),
        },
      ],
    };

    expect(servedBy(shape, file).ok).toBe(served);
  });

  it('says when a field override removes the single-field index a query needs, which no composite index can replace', () => {
    const served = servedBy(on([], [asc('parkedAt')]), {
      indexes: [],
      fieldOverrides: [{ collectionGroup: 'c', fieldPath: 'parkedAt', indexes: [] }],
    });

    expect(served).toEqual({
      ok: false,
      problem: expect.stringContaining(
        'c.parkedAt: the query needs its single-field index (ASCENDING), which a field override removes',
      ) as string,
    });
  });
});
