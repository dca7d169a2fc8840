import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseBenchConfig } from '../../../bench/bench-config.js';
import { writeBenchSections } from '../../../bench/performance-page.js';

describe('BENCH_ONLY', () => {
  it('names the measurements a run makes, and refuses one it does not know, naming the variable', () => {
    expect(parseBenchConfig({}).only).toEqual([]);
    expect(parseBenchConfig({ BENCH_ONLY: 'waiting-reads, store-cost' }).only).toEqual(['waiting-reads', 'store-cost']);
    expect(() => parseBenchConfig({ BENCH_ONLY: 'reads' })).toThrow(/BENCH_ONLY must list measurements among cpu, /);
  });

  it('writes only the sections of the measurements it ran, leaving the others as they were', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'bench-page-')), 'performance.md');
    const page = (cost: string, reads: string) =>
      `<!-- bench:store-cost -->\n\n${cost}\n\n<!-- /bench:store-cost -->\n<!-- bench:waiting-reads -->\n\n${reads}\n\n<!-- /bench:waiting-reads -->\n`;
    await writeFile(file, page('old cost', 'old reads'));

    await writeBenchSections(file, { 'waiting-reads': 'new reads' }, ['waiting-reads']);

    expect(await readFile(file, 'utf8')).toBe(page('old cost', 'new reads'));
  });
});
