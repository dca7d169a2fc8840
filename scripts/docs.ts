/**
 * `npm run docs`: writes the tables of README.md and docs/ that are derived from the code (the configuration
 * table, bounds, redelivery schedule, deploy timing, substitutions, Firestore queries and their indexes) between
 * their `<!-- generated:NAME -->` markers. `--check` writes nothing and fails when a page is out of date
 * (test/unit/docs/generated-docs.test.ts checks the same from src/).
 *
 * Node runs this file by type stripping, so the product comes from the built dist/ (npm run docs builds first).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

await import(new URL('./resolve-ts.ts', import.meta.url).href);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { PAGES, renderPage } = await import('./docs/pages.js');
const { PRODUCT_FILES } = await import('./docs/product.js');
const config = (await import(new URL('../dist/config.js', import.meta.url).href)) as typeof import('../src/config.js');
const settings = (await import(
  new URL('../dist/settings/settings.js', import.meta.url).href
)) as typeof import('../src/settings/settings.js');
const removed = (await import(new URL('../dist/settings/removed.js', import.meta.url).href)) as typeof import('../src/settings/removed.js');
const backoff = (await import(new URL('../dist/core/backoff.js', import.meta.url).href)) as typeof import('../src/core/backoff.js');

const read = (file: string): Promise<string> => readFile(path.join(root, file), 'utf8');
const files = Object.fromEntries(await Promise.all(PRODUCT_FILES.map(async (file) => [file, await read(file)] as const)));
const product = {
  parseConfig: config.parseConfig,
  longestRunMs: config.longestRunMs,
  settings: settings.SETTINGS,
  removedSettings: removed.REMOVED_SETTINGS,
  backoffDelayMs: backoff.backoffDelayMs,
  shortestRedeliverySpanMs: backoff.shortestRedeliverySpanMs,
  jitter: { low: backoff.JITTER_LOW, high: backoff.JITTER_HIGH },
  files: files as Record<(typeof PRODUCT_FILES)[number], string>,
};

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const page of Object.keys(PAGES)) {
  const before = await read(page);
  const after = await renderPage(root, page, before, product);
  if (after === before) continue;
  stale.push(page);
  if (!check) await writeFile(path.join(root, page), after);
}
if (check && stale.length > 0) {
  process.stderr.write(`out of date: ${stale.join(', ')}; run npm run docs\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(stale.length === 0 ? 'docs: every generated section is up to date\n' : `docs: wrote ${stale.join(', ')}\n`);
}
