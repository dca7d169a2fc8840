import { readFile, writeFile } from 'node:fs/promises';

/** The sections a page holds: `<!-- bench:NAME -->` … `<!-- /bench:NAME -->`, written by a full `npm run bench`. */
export function benchSectionNames(text: string): string[] {
  return [...text.matchAll(/<!-- bench:([a-z0-9-]+) -->/g)].map((match) => match[1] as string);
}

/**
 * Writes each section the page holds from `sections` (or only those named in `only`, from a partial run); a
 * section this run did not measure says so. Throws naming a marker without its end, so a broken page is not
 * silently left stale.
 */
export async function writeBenchSections(
  file: string,
  sections: Readonly<Record<string, string>>,
  only?: readonly string[],
): Promise<string[]> {
  let text = await readFile(file, 'utf8');
  // A run of some measurements (BENCH_ONLY) writes only their sections.
  const names = benchSectionNames(text).filter((name) => only === undefined || only.includes(name));
  for (const name of names) {
    const start = `<!-- bench:${name} -->`;
    const end = `<!-- /bench:${name} -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end, from);
    if (to === -1) throw new Error(`${file}: ${start} has no ${end}`);
    const body = sections[name] ?? '_Not measured in this run._';
    text = `${text.slice(0, from + start.length)}\n\n${body.trimEnd()}\n\n${text.slice(to)}`;
  }
  await writeFile(file, text);
  return names;
}
