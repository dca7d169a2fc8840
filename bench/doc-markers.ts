import { readFileSync, writeFileSync } from 'node:fs';

/** Replaces what stands between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in a doc page with `content`. */
export function writeBetweenMarkers(file: string, name: string, content: string): void {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file}: add the markers ${start} … ${end}`);
  writeFileSync(file, `${text.slice(0, from + start.length)}\n${content.trim()}\n${text.slice(to)}`);
}
