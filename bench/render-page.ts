/**
 * `node bench/render-page.ts`: writes docs/performance.md's tables again from bench/results/latest.json, without
 * measuring anything (after a change to how the tables are laid out, or after another scenario's result file
 * changed: its headline entries are merged in again, and latest.json is rewritten with them).
 *
 * The shards and rate-cap sections come from bench/results/only-shards.json and only-rate-cap.json when latest.json
 * has no such measurement.
 *
 * `node bench/render-page.ts <result.json> <section>…`: writes only the named sections from the result of a
 * partial run (e.g. `BENCH_OUTPUT=bench/results/domain.json` with only the CPU rounds, then `domain`), leaving
 * the others and latest.json as they are.
 */
await import(new URL('./resolve-ts.ts', import.meta.url).href);
const { readFile, writeFile } = await import('node:fs/promises');
const path = await import('node:path');
const { fileURLToPath, pathToFileURL } = await import('node:url');
const { reportSections } = await import('./report-table.js');
const { writeBenchSections } = await import('./performance-page.js');
const { mergedHeadline } = await import('./headline.js');
const { writeShardChart } = await import('./shard-chart.js');
const shardChart = new URL('../docs/shards.svg', import.meta.url).pathname;
type Result = Parameters<typeof reportSections>[0];
const [fileArgument, ...only] = process.argv.slice(2);
const page = new URL('../docs/performance.md', import.meta.url).pathname;
if (fileArgument !== undefined) {
  if (only.length === 0) throw new Error('name the sections to write from a partial result, e.g. `domain`');
  const partial = JSON.parse(await readFile(path.resolve(fileArgument), 'utf8')) as Result;
  const names = await writeBenchSections(page, reportSections(partial), only);
  if (only.includes('shards') && partial.shardScaling !== undefined) await writeShardChart(partial.shardScaling, shardChart);
  process.stdout.write(`docs/performance.md: wrote ${names.join(', ')} from ${pathToFileURL(path.resolve(fileArgument)).pathname}\n`);
} else {
  const resultFile = new URL('./results/latest.json', import.meta.url);
  const stored = JSON.parse(await readFile(resultFile, 'utf8')) as Result;
  const own = Object.fromEntries(Object.entries(stored.headline).filter(([, entry]) => entry.source === undefined));
  const result: Result = { ...stored, headline: await mergedHeadline(own, fileURLToPath(new URL('..', import.meta.url))) };
  await writeFile(resultFile, `${JSON.stringify(result, null, 2)}\n`);
  // The shard measurement may come from its own run (BENCH_ONLY=shards): its result file fills in what latest.json lacks.
  const shardsFile = new URL('./results/only-shards.json', import.meta.url);
  const shardScaling =
    result.shardScaling ?? (JSON.parse(await readFile(shardsFile, 'utf8').catch(() => '{}')) as Partial<Result>).shardScaling;
  const rateCap =
    result.rateCap ??
    (JSON.parse(await readFile(new URL('./results/only-rate-cap.json', import.meta.url), 'utf8').catch(() => '{}')) as Partial<Result>)
      .rateCap;
  const names = await writeBenchSections(page, reportSections({ ...result, shardScaling, rateCap }));
  if (shardScaling !== undefined) await writeShardChart(shardScaling, shardChart);
  process.stdout.write(`bench/results/latest.json: headline merged again; docs/performance.md: wrote ${names.join(', ')}\n`);
}
