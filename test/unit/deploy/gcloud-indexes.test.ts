import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { IndexFile } from '../../../scripts/docs/firestore-indexes.js';
import { PROJECT_ROOT } from '../../support/project-root.js';

/*
 * docs/operations.md offers two ways to configure Firestore: the Firebase CLI deploying firestore.indexes.json,
 * or gcloud alone. The gcloud commands as the page prints them are read back here, flag by flag as gcloud takes
 * them, and must configure what the Firebase CLI configures from the file: the same composite indexes, and for
 * every field override the same single-field indexes and the same TTL.
 */

const read = (file: string): string => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const indexFile = JSON.parse(read('firestore.indexes.json')) as IndexFile;

/** What Firestore ends up with: composite indexes, and per overridden field its single-field indexes and TTL. */
interface Effect {
  readonly composites: string[];
  readonly fields: Record<string, { indexes?: string[]; ttl?: boolean }>;
}

/**
 * What `firebase deploy --only firestore:indexes` does with the file (firebase-tools, src/firestore/api.ts):
 * it creates each composite index as listed; for each field override it PATCHes the field's index config to
 * exactly the listed indexes (queryScope COLLECTION unless said), and its TTL config when `ttl` is given.
 */
function firebaseEffect(file: IndexFile): Effect {
  const composites = file.indexes.map(
    (index) =>
      `${index.collectionGroup} ${index.queryScope} ${index.fields.map((f) => `${f.fieldPath}:${f.order ?? `ARRAY_${f.arrayConfig}`}`).join(',')}`,
  );
  const fields: Effect['fields'] = {};
  for (const field of file.fieldOverrides ?? []) {
    fields[`${field.collectionGroup}.${field.fieldPath}`] = {
      indexes: field.indexes.map((i) => `${i.queryScope ?? 'COLLECTION'}:${i.order ?? `ARRAY_${i.arrayConfig}`}`).sort(),
      ...(field.ttl === undefined ? {} : { ttl: field.ttl }),
    };
  }
  return { composites: composites.sort(), fields };
}

/** The flags each gcloud command takes (gcloud 528 --help), so a misspelt one fails here rather than in a shell. */
const COMMANDS: Record<string, readonly string[]> = {
  'firestore indexes composite create': ['--collection-group', '--query-scope', '--field-config', '--api-scope', '--database', '--async'],
  'firestore indexes fields update': ['--collection-group', '--disable-indexes', '--index', '--clear-exemption', '--database', '--async'],
  'firestore fields ttls update': ['--collection-group', '--enable-ttl', '--disable-ttl', '--database', '--async'],
};

/** What the commands do, read as gcloud reads them. */
function gcloudEffect(lines: readonly string[]): Effect {
  const composites: string[] = [];
  const fields: Effect['fields'] = {};
  for (const line of lines) {
    const [gcloud, ...words] = line.split(/\s+/);
    expect(gcloud).toBe('gcloud');
    const positionals = words.filter((word) => !word.startsWith('--'));
    const flags = words
      .filter((word) => word.startsWith('--'))
      .map((word) => [word.split('=')[0] as string, word.slice(word.indexOf('=') + 1)] as const);
    const command = Object.keys(COMMANDS).find((name) => positionals.join(' ').startsWith(name));
    if (command === undefined) throw new Error(`not a command this test knows: ${line}`);
    expect(flags.map(([flag]) => flag).filter((flag) => !COMMANDS[command]?.includes(flag))).toEqual([]);
    const values = (flag: string): string[] => flags.filter(([name]) => name === flag).map(([, value]) => value);
    const has = (flag: string): boolean => values(flag).length > 0;
    const [group] = values('--collection-group');
    if (command === 'firestore indexes composite create') {
      const scope = (values('--query-scope')[0] ?? 'collection') === 'collection' ? 'COLLECTION' : 'COLLECTION_GROUP';
      const configs = values('--field-config').map((config) => {
        const parts = Object.fromEntries(config.split(',').map((part) => part.split('=') as [string, string]));
        return `${parts['field-path']}:${parts.order !== undefined ? parts.order.toUpperCase() : `ARRAY_${(parts['array-config'] ?? '').toUpperCase()}`}`;
      });
      composites.push(`${group} ${scope} ${configs.join(',')}`);
      continue;
    }
    const key = `${group}.${positionals.at(-1)}`;
    const field = (fields[key] ??= {});
    if (command === 'firestore fields ttls update') {
      field.ttl = has('--enable-ttl');
    } else if (has('--disable-indexes')) {
      field.indexes = [];
    } else if (has('--clear-exemption')) {
      throw new Error(`${line}: --clear-exemption has no counterpart in firestore.indexes.json`);
    } else {
      // --index takes order or array-config, at collection scope.
      field.indexes = values('--index')
        .map((index) =>
          index.startsWith('order=') ? `COLLECTION:${index.slice('order='.length).toUpperCase()}` : `COLLECTION:ARRAY_CONTAINS`,
        )
        .sort();
    }
  }
  return { composites: composites.sort(), fields };
}

/** The commands in docs/operations.md's generated gcloud block, one per line. */
function documentedCommands(): string[] {
  const page = read('docs/operations.md');
  const block = /<!-- generated:gcloud-indexes -->([\s\S]*?)<!-- \/generated:gcloud-indexes -->/.exec(page)?.[1];
  if (block === undefined) throw new Error('docs/operations.md has no generated gcloud-indexes section');
  return block.split('\n').filter((line) => line.startsWith('gcloud '));
}

describe('Docs: the gcloud-only way to configure Firestore (docs/operations.md)', () => {
  it('names the database in every command, so a named FIRESTORE_DATABASE gets its indexes and TTL policies', () => {
    expect(documentedCommands().filter((line) => !line.includes(' --database="$DATABASE"'))).toEqual([]);
  });

  it('creates the composite indexes, single-field indexes and TTL policies the Firebase CLI path does', () => {
    expect(gcloudEffect(documentedCommands())).toEqual(firebaseEffect(indexFile));
  });

  it('turns off the single-field indexes of a TTL field when the file says so, as the Firebase CLI does', () => {
    const ttlFields = (indexFile.fieldOverrides ?? []).filter((field) => field.ttl === true && field.indexes.length === 0);

    expect(ttlFields.length).toBeGreaterThan(0);
    for (const field of ttlFields) {
      expect(documentedCommands()).toContain(
        `gcloud firestore indexes fields update ${field.fieldPath} --collection-group=${field.collectionGroup} --database="$DATABASE" --disable-indexes`,
      );
    }
  });
});
