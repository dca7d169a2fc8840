import { code, table } from './format.js';

/**
 * The queries the relay and outbox-ops run, and how Firestore serves each: from the built-in or single-field
 * indexes, or from a composite index firestore.indexes.json must declare. test/unit/deploy/firestore-indexes
 * runs the code against a recording client to prove this list is exactly what the code asks.
 */

export type Direction = 'ASCENDING' | 'DESCENDING';
type Scope = 'COLLECTION' | 'COLLECTION_GROUP';

/** firestore.indexes.json, as the Firebase CLI reads it. */
export interface IndexFile {
  readonly indexes: readonly {
    readonly collectionGroup: string;
    readonly queryScope: Scope;
    readonly fields: readonly { readonly fieldPath: string; readonly order?: Direction; readonly arrayConfig?: 'CONTAINS' }[];
  }[];
  readonly fieldOverrides?: readonly {
    readonly collectionGroup: string;
    readonly fieldPath: string;
    readonly ttl?: boolean;
    readonly indexes: readonly { readonly order?: Direction; readonly arrayConfig?: 'CONTAINS'; readonly queryScope?: Scope }[];
  }[];
}

/** A filter as the code writes it; `value` is for the reader only and is never compared. */
export interface Filter {
  readonly field: string;
  readonly op: '==' | 'in' | '<' | '<=' | '>' | '>=' | '!=' | 'not-in';
  readonly value?: string;
}

/** What decides a query's index: its collection, filters and order (limits, cursors and projections do not). */
export interface QueryShape {
  readonly collection: string;
  readonly filters: readonly Filter[];
  readonly orderBy: readonly { readonly field: string; readonly direction: Direction }[];
  readonly count?: boolean;
}

export interface DeclaredQuery {
  /** Who runs it and when. */
  readonly runBy: string;
  readonly shape: QueryShape;
}

/** The default collection names, which firestore.indexes.json uses too. */
const OUTBOX = 'outbound_events';
const PARKED = 'outbound_event_parked_keys';
const NAME = '__name__';
const up = (field: string): { field: string; direction: Direction } => ({ field, direction: 'ASCENDING' });
const down = (field: string): { field: string; direction: Direction } => ({ field, direction: 'DESCENDING' });
const is = (field: string, value: string): Filter => ({ field, op: '==', value });
const pending = is('status', 'pending');

export const QUERIES: readonly DeclaredQuery[] = [
  {
    runBy: 'relay: a page of pending events, oldest first; `outbox-ops status`: the oldest',
    shape: { collection: OUTBOX, filters: [pending], orderBy: [up('createdAt'), up(NAME)] },
  },
  {
    runBy: 'relay with `SHARD_COUNT` > 1: a page of its shard',
    shape: { collection: OUTBOX, filters: [pending, is('shard', 'SHARD_INDEX')], orderBy: [up('createdAt'), up(NAME)] },
  },
  {
    runBy: 'relay with `FOLLOW_MS` > 0: a listener on the newest pending event',
    shape: { collection: OUTBOX, filters: [pending], orderBy: [down('createdAt')] },
  },
  {
    runBy: 'relay with `FOLLOW_MS` > 0 and `SHARD_COUNT` > 1: the same, of its shard',
    shape: { collection: OUTBOX, filters: [pending, is('shard', 'SHARD_INDEX')], orderBy: [down('createdAt')] },
  },
  {
    runBy: 'relay: parked keys (every shard’s, so a key stays parked across a reshard)',
    shape: { collection: PARKED, filters: [], orderBy: [] },
  },
  {
    runBy: 'relay with `PREVIOUS_SHARD_COUNT`: pending events of the previous count',
    shape: { collection: OUTBOX, filters: [pending, is('shardCount', 'PREVIOUS_SHARD_COUNT')], orderBy: [] },
  },
  {
    runBy: 'relay, shard 0: documents with an unknown status',
    shape: { collection: OUTBOX, filters: [{ field: 'status', op: 'not-in', value: '(the known statuses)' }], orderBy: [] },
  },
  { runBy: 'relay, shard 0: documents whose status is null', shape: { collection: OUTBOX, filters: [is('status', 'null')], orderBy: [] } },
  {
    runBy: 'relay, shard 0: pending events; `outbox-ops status` and `dead-letters`: counts by status',
    shape: { collection: OUTBOX, filters: [pending], orderBy: [], count: true },
  },
  {
    runBy: 'relay, shard 0: pending events that have a `createdAt`',
    shape: { collection: OUTBOX, filters: [pending], orderBy: [up('createdAt')], count: true },
  },
  {
    runBy: 'relay, shard 0, `SHARD_COUNT` > 1: pending events in an existing shard',
    shape: {
      collection: OUTBOX,
      filters: [pending, { field: 'shard', op: '>=', value: '0' }, { field: 'shard', op: '<', value: 'SHARD_COUNT' }],
      orderBy: [],
      count: true,
    },
  },
  {
    runBy: 'relay, shard 0: pending events by id, only while the counts above disagree',
    shape: { collection: OUTBOX, filters: [pending], orderBy: [up(NAME)] },
  },
  {
    runBy: 'relay, shard 0, at most hourly: all documents; `outbox-ops status`: the total',
    shape: { collection: OUTBOX, filters: [], orderBy: [], count: true },
  },
  {
    runBy: 'relay, shard 0, at most hourly: documents that have a status',
    shape: { collection: OUTBOX, filters: [], orderBy: [up('status')], count: true },
  },
  {
    runBy: 'relay, shard 0: all documents by id, only while some lack a status',
    shape: { collection: OUTBOX, filters: [], orderBy: [up(NAME)] },
  },
  {
    runBy: '`outbox-ops status`: events waiting out a backoff',
    shape: { collection: OUTBOX, filters: [pending, { field: 'nextAttemptAt', op: '>', value: 'now' }], orderBy: [], count: true },
  },
  { runBy: '`outbox-ops status`: parked keys', shape: { collection: PARKED, filters: [], orderBy: [], count: true } },
  { runBy: '`outbox-ops status`: the longest-parked keys', shape: { collection: PARKED, filters: [], orderBy: [up('parkedAt')] } },
  {
    runBy: '`outbox-ops dead-letters`: newest first',
    shape: { collection: OUTBOX, filters: [is('status', 'dead_letter')], orderBy: [down('deadLetteredAt'), down(NAME)] },
  },
  {
    runBy: '`outbox-ops redrive --all`: dead letters by id',
    shape: { collection: OUTBOX, filters: [is('status', 'dead_letter')], orderBy: [up(NAME)] },
  },
  {
    runBy: '`outbox-ops purge`',
    shape: {
      collection: OUTBOX,
      filters: [is('status', 'delivered'), { field: 'deliveredAt', op: '<', value: 'the date' }],
      orderBy: [up('deliveredAt')],
    },
  },
  {
    runBy: '`outbox-ops purge --dry-run`',
    shape: {
      collection: OUTBOX,
      filters: [is('status', 'delivered'), { field: 'deliveredAt', op: '<', value: 'the date' }],
      orderBy: [up('deliveredAt')],
      count: true,
    },
  },
];

const EQUALITY: readonly Filter['op'][] = ['==', 'in'];

/**
 * The order Firestore returns documents in: the query's orderBy, then its inequality fields it does not order
 * by, then `__name__` in the direction of the last (how Firestore completes every query).
 */
function effectiveOrder(shape: QueryShape): { field: string; direction: Direction }[] {
  const order = [...shape.orderBy];
  const inequalities = [...new Set(shape.filters.filter((f) => !EQUALITY.includes(f.op)).map((f) => f.field))].sort();
  for (const field of inequalities) if (!order.some((o) => o.field === field)) order.push(up(field));
  if (!order.some((o) => o.field === NAME)) order.push({ field: NAME, direction: order.at(-1)?.direction ?? 'ASCENDING' });
  return order;
}

/** The same query for index purposes: one key per distinct shape, so two spellings of one query compare equal. */
export function shapeKey(shape: QueryShape): string {
  const filters = shape.filters.map((f) => `${f.field} ${f.op}`).sort();
  const order = effectiveOrder(shape).map((o) => `${o.field} ${o.direction}`);
  return `${shape.collection} | ${filters.join(', ')} | ${order.join(', ')}${shape.count === true ? ' | count' : ''}`;
}

/** What a query needs to run, by Firestore's rules. */
export type IndexNeed =
  /** Only `__name__` order: the built-in index. */
  | { readonly kind: 'built-in' }
  /** One field alone (filtered, ordered, or both): its single-field index in that direction. */
  | { readonly kind: 'single-field'; readonly field: string; readonly direction: Direction | 'either' }
  /** Only equality filters on several fields: Firestore merges their single-field indexes. */
  | { readonly kind: 'merged'; readonly fields: readonly string[] }
  /** Anything else: a composite index, equality fields first (in any order), then the order exactly. */
  | { readonly kind: 'composite'; readonly equals: readonly string[]; readonly order: readonly { field: string; direction: Direction }[] };

export function indexNeed(shape: QueryShape): IndexNeed {
  const order = effectiveOrder(shape);
  // The trailing `__name__` in the direction of the field before it comes with every index.
  const last = order.at(-1);
  const beforeLast = order.at(-2);
  if (last?.field === NAME && (beforeLast === undefined ? last.direction === 'ASCENDING' : beforeLast.direction === last.direction))
    order.pop();
  const ordered = order.filter((o) => o.field !== NAME);
  const equals = [...new Set(shape.filters.filter((f) => EQUALITY.includes(f.op)).map((f) => f.field))].filter(
    (field) => !ordered.some((o) => o.field === field),
  );
  if (ordered.length === 0) {
    if (equals.length === 0) return { kind: 'built-in' };
    return equals.length === 1
      ? { kind: 'single-field', field: equals[0] as string, direction: 'either' }
      : { kind: 'merged', fields: equals };
  }
  const [only] = ordered;
  if (equals.length === 0 && order.length === 1 && only !== undefined)
    return { kind: 'single-field', field: only.field, direction: only.direction };
  return { kind: 'composite', equals: equals.sort(), order };
}

/** The single-field indexes a field has at collection scope: both orders, unless a field override says otherwise. */
function singleFieldOrders(file: IndexFile, collection: string, field: string): { orders: Set<Direction>; exempted: boolean } {
  const override = file.fieldOverrides?.find((o) => o.collectionGroup === collection && o.fieldPath === field);
  if (override === undefined) return { orders: new Set(['ASCENDING', 'DESCENDING']), exempted: false };
  const orders = override.indexes
    .filter((i) => (i.queryScope ?? 'COLLECTION') === 'COLLECTION' && i.order !== undefined)
    .map((i) => i.order as Direction);
  return { orders: new Set(orders), exempted: true };
}

/** A composite index's fields without the trailing `__name__` Firestore adds by itself. */
function withoutImplicitName(fields: IndexFile['indexes'][number]['fields']): IndexFile['indexes'][number]['fields'] {
  const last = fields.at(-1);
  return last?.fieldPath === NAME && last.order === fields.at(-2)?.order ? fields.slice(0, -1) : fields;
}

/** How firestore.indexes.json serves a query, or why it cannot. */
export type Served = { readonly ok: true; readonly by: string } | { readonly ok: false; readonly problem: string };

export function servedBy(shape: QueryShape, file: IndexFile): Served {
  const need = indexNeed(shape);
  const { collection } = shape;
  switch (need.kind) {
    case 'built-in':
      return { ok: true, by: 'built-in (`__name__`)' };
    case 'single-field':
    case 'merged': {
      const fields = need.kind === 'merged' ? need.fields : [need.field];
      for (const field of fields) {
        const { orders, exempted } = singleFieldOrders(file, collection, field);
        const wanted =
          need.kind === 'single-field' && need.direction !== 'either' ? [need.direction] : (['ASCENDING', 'DESCENDING'] as const);
        if (!wanted.some((direction) => orders.has(direction))) {
          return {
            ok: false,
            problem: `${collection}.${field}: the query needs its single-field index (${wanted.join(' or ')}), which a field override ${exempted ? 'removes' : 'lacks'}; a composite index cannot replace it (it needs two fields)`,
          };
        }
      }
      return {
        ok: true,
        by: need.kind === 'merged' ? `single-field, merged: ${fields.map(code).join(', ')}` : `single-field: ${code(need.field)}`,
      };
    }
    case 'composite': {
      const wanted = describeComposite([...need.equals.map((field) => up(field)), ...need.order]);
      const found = file.indexes.find((index) => {
        if (index.collectionGroup !== collection || index.queryScope !== 'COLLECTION') return false;
        const fields = withoutImplicitName(index.fields);
        if (fields.length !== need.equals.length + need.order.length) return false;
        const head = fields.slice(0, need.equals.length);
        const tail = fields.slice(need.equals.length);
        return (
          head.every((f) => f.order !== undefined && need.equals.includes(f.fieldPath)) &&
          new Set(head.map((f) => f.fieldPath)).size === need.equals.length &&
          tail.every((f, i) => f.fieldPath === need.order[i]?.field && f.order === need.order[i]?.direction)
        );
      });
      if (found === undefined) return { ok: false, problem: `${collection}: needs a composite index ${wanted}` };
      return {
        ok: true,
        by: `composite: ${describeComposite(withoutImplicitName(found.fields).map((f) => ({ field: f.fieldPath, direction: f.order ?? 'ASCENDING' })))}`,
      };
    }
  }
}

function describeComposite(fields: readonly { field: string; direction: Direction }[]): string {
  return fields.map((f) => `${code(f.field)} ${f.direction === 'ASCENDING' ? 'asc' : 'desc'}`).join(', ');
}

function describeQuery(shape: QueryShape): string {
  const filters = shape.filters.map((f) => code(`${f.field} ${f.op}${f.value === undefined ? '' : ` ${f.value}`}`));
  const order =
    shape.orderBy.length === 0
      ? []
      : [`order by ${shape.orderBy.map((o) => `${code(o.field)}${o.direction === 'DESCENDING' ? ' desc' : ''}`).join(', ')}`];
  const parts = [...filters, ...order, ...(shape.count === true ? ['count'] : [])];
  return `${code(shape.collection)}: ${parts.length === 0 ? 'all' : parts.join(', ')}`;
}

/** The docs' table of queries and the index that serves each; throws naming every query nothing serves. */
export function queriesTable(file: IndexFile): string {
  const problems: string[] = [];
  const rows = QUERIES.map(({ runBy, shape }) => {
    const served = servedBy(shape, file);
    if (!served.ok) problems.push(`"${runBy}": ${served.problem}`);
    return [runBy, describeQuery(shape), served.ok ? served.by : '—'];
  });
  if (problems.length > 0) throw new Error(`firestore.indexes.json does not serve\n  ${problems.join('\n  ')}`);
  return table(['Run by', 'Query', 'Index'], rows);
}

/**
 * The gcloud commands that configure what the Firebase CLI deploys from the same file: every composite index,
 * and for each field override exactly its single-field indexes (none: --disable-indexes) and its TTL.
 */
export function gcloudCommands(file: IndexFile): string[] {
  const commands: string[] = [];
  // FIRESTORE_DATABASE: every command names the database, `(default)` unless the outbox is in a named one.
  const database = '--database="$DATABASE"';
  for (const index of file.indexes) {
    const fields = index.fields.map((f) => {
      if (f.order !== undefined) return `--field-config=field-path=${f.fieldPath},order=${f.order.toLowerCase()}`;
      if (f.arrayConfig !== undefined) return `--field-config=field-path=${f.fieldPath},array-config=${f.arrayConfig.toLowerCase()}`;
      throw new Error(`${index.collectionGroup}: index field ${f.fieldPath} has neither order nor arrayConfig`);
    });
    const scope = index.queryScope === 'COLLECTION' ? 'collection' : 'collection-group';
    commands.push(
      `gcloud firestore indexes composite create --collection-group=${index.collectionGroup} --query-scope=${scope} ${fields.join(' ')} ${database} --async`,
    );
  }
  for (const field of file.fieldOverrides ?? []) {
    const target = `${field.fieldPath} --collection-group=${field.collectionGroup} ${database}`;
    if (field.indexes.length === 0) {
      commands.push(`gcloud firestore indexes fields update ${target} --disable-indexes`);
    } else {
      const indexes = field.indexes.map((i) => {
        if ((i.queryScope ?? 'COLLECTION') !== 'COLLECTION')
          throw new Error(`${field.collectionGroup}.${field.fieldPath}: gcloud sets single-field indexes at collection scope only`);
        return i.order !== undefined ? `--index=order=${i.order.toLowerCase()}` : `--index=array-config=contains`;
      });
      commands.push(`gcloud firestore indexes fields update ${target} ${indexes.join(' ')}`);
    }
    if (field.ttl !== undefined)
      commands.push(`gcloud firestore fields ttls update ${target} ${field.ttl ? '--enable-ttl' : '--disable-ttl'}`);
  }
  return commands;
}
