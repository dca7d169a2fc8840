import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { percentEncode } from '../../../src/adapters/cloudevents-encoding.js';
import { StopReason } from '../../../src/core/run-state.js';
import { shardOf } from '../../../src/core/shard.js';
import * as errors from '../../../src/errors.js';
import { PROJECT_ROOT } from '../../support/project-root.js';

/*
 * Statements of the manual that a user acts on, checked against the code that makes them true: what a router
 * must decode, which shard a producer in another language must write, the run's stop reasons, the function's
 * name in commands, and the error classes the code still has.
 */

const read = (file: string): string => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');

describe('Docs: true to the code', () => {
  it('docs/consumer.md’s percent-encoding example is what the relay sends', () => {
    const page = read('docs/consumer.md');
    const example = /`([^`]+)` arrives as\s+`([^`]+)`/.exec(page);

    expect(example).not.toBeNull();
    expect(percentEncode(example?.[1] ?? '')).toBe(example?.[2]);
    expect(page).toMatch(/space,\s+`"` and `%`/);
    expect(['a b', 'say "hi"', '100%'].map(percentEncode)).toEqual(['a%20b', 'say%20%22hi%22', '100%25']);
  });

  it('docs/producer.md’s shard test vectors are what enqueue writes, for every shard count listed', () => {
    const page = read('docs/producer.md');
    const table = /<!-- shard-vectors -->([\s\S]*?)<!-- \/shard-vectors -->/.exec(page)?.[1] ?? '';
    const header = table.split('\n').find((line) => line.startsWith('| Key')) ?? '';
    const counts = [...header.matchAll(/N = (\d+)/g)].map((match) => Number(match[1]));
    const rows = [...table.matchAll(/^\| `([^`]+)` +\| `([0-9a-f]{8})` +\| `(\d+)` +\|((?: *\d+ *\|)+)$/gm)];

    expect(counts.length).toBeGreaterThanOrEqual(2);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const [, key = '', , uint32 = '', shards = ''] of rows) {
      const documented = shards
        .split('|')
        .map((cell) => cell.trim())
        .filter(Boolean)
        .map(Number);
      expect({ key, shards: counts.map((count) => shardOf(key, count)) }).toEqual({ key, shards: documented });
      expect(counts.map((count) => Number(uint32) % count)).toEqual(documented);
    }
  });

  it('docs/failure-semantics.md lists every reason a run reports in stoppedBy', () => {
    const page = read('docs/failure-semantics.md');
    const paragraph = /`stoppedBy` says why[\s\S]*?\n\n/.exec(page)?.[0] ?? '';

    expect(Object.values(StopReason).filter((reason) => !paragraph.includes(`\`${reason}\``))).toEqual([]);
  });

  it('names the function outboundEventHandler wherever a page passes it to gcloud functions', () => {
    const registered = /\bhttp\('([^']+)'/.exec(read('src/index.ts'))?.[1];
    const pages = ['README.md', ...readdirSync(path.join(PROJECT_ROOT, 'docs')).map((file) => `docs/${file}`)];
    const named = pages.flatMap((page) =>
      [...read(page).matchAll(/gcloud functions (?:deploy|describe|delete|logs read|call) ([A-Za-z][\w-]*)/g)].map(
        (m) => `${page}: ${m[1]}`,
      ),
    );

    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((entry) => !entry.endsWith(`: ${registered}`))).toEqual([]);
  });

  it('keeps only error classes the code uses: each is thrown or checked outside src/errors.ts', () => {
    const sources = sourceFiles(path.join(PROJECT_ROOT, 'src')).filter((file) => !file.endsWith(`${path.sep}errors.ts`));
    const text = sources.map((file) => readFileSync(file, 'utf8')).join('\n');
    const classes = Object.entries(errors)
      .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
      .map(([name]) => name);

    expect(classes.length).toBeGreaterThan(5);
    expect(classes.filter((name) => !new RegExp(`\\b${name}\\b`).test(text))).toEqual([]);
  });

  it('says in FetchError only what holds when a later page fails after deliveries', () => {
    const message = new errors.FetchError(new Error('DEADLINE_EXCEEDED')).message;

    expect(message).toContain('DEADLINE_EXCEEDED');
    expect(message).not.toMatch(/nothing was posted/i);
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(path.join(dir, entry.name)) : entry.name.endsWith('.ts') ? [path.join(dir, entry.name)] : [],
  );
}
