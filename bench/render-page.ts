/**
 * `node bench/render-page.ts`: writes docs/performance.md's tables again from bench/results/latest.json, without
 * measuring anything (after a change to how the tables are laid out).
 */
await import(new URL('./resolve-ts.ts', import.meta.url).href);
const { readFile } = await import('node:fs/promises');
const { reportSections } = await import('./report-table.js');
const { writeBenchSections } = await import('./performance-page.js');
const result = JSON.parse(await readFile(new URL('./results/latest.json', import.meta.url), 'utf8')) as Parameters<
  typeof reportSections
>[0];
const names = await writeBenchSections(new URL('../docs/performance.md', import.meta.url).pathname, reportSections(result));
process.stdout.write(`docs/performance.md: wrote ${names.join(', ')}\n`);
