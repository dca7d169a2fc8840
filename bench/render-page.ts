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
  const names = await writeBenchSections(page, reportSections(result));
  // A measurement run on its own (BENCH_ONLY=shards, rate-cap) fills in what latest.json lacks, with its own date,
  // machine and deploy profile: the section says when and where it was measured, not when latest.json was.
  const ownRuns: readonly [string, 'shardScaling' | 'rateCap', string][] = [
    ['only-shards.json', 'shardScaling', 'shards'],
    ['only-rate-cap.json', 'rateCap', 'rate-cap'],
  ];
  for (const [file, key, section] of ownRuns) {
    if (result[key] !== undefined) continue;
    const own = JSON.parse(await readFile(new URL(`./results/${file}`, import.meta.url), 'utf8').catch(() => 'null')) as Result | null;
    if (own?.[key] === undefined) continue;
    // The rest (e.g. the CPU per event the sizing uses) stays latest.json's.
    const merged: Result = { ...result, date: own.date, machine: own.machine, [key]: own[key] };
    names.push(...(await writeBenchSections(page, reportSections(merged), [section])));
  }
  const shardScaling = result.shardScaling ?? (await readShardScaling());
  if (shardScaling !== undefined) await writeShardChart(shardScaling, shardChart);
  process.stdout.write(`bench/results/latest.json: headline merged again; docs/performance.md: wrote ${[...new Set(names)].join(', ')}\n`);
}

async function readShardScaling(): Promise<Result['shardScaling']> {
  const own = JSON.parse(
    await readFile(new URL('./results/only-shards.json', import.meta.url), 'utf8').catch(() => 'null'),
  ) as Result | null;
  return own?.shardScaling;
}
