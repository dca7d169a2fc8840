/** How the generated tables write numbers: one way for every page, so figures read alike everywhere. */

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** A duration for a person: "250 ms", "10 s", "4 min", "2 h", "25 h 42 min"; rounded to what the unit shows. */
export function duration(ms: number): string {
  if (ms === 0) return '0';
  if (ms < SECOND_MS) return `${trim(ms)} ms`;
  if (ms < MINUTE_MS) return `${trim(ms / SECOND_MS)} s`;
  if (ms < HOUR_MS) {
    const minutes = Math.floor(ms / MINUTE_MS);
    const seconds = Math.round((ms - minutes * MINUTE_MS) / SECOND_MS);
    return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
  }
  const hours = Math.floor(ms / HOUR_MS);
  const minutes = Math.round((ms - hours * HOUR_MS) / MINUTE_MS);
  if (ms >= 2 * DAY_MS && minutes === 0 && hours % 24 === 0) return `${hours / 24} days`;
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}

/** Seconds, for durations compared with each other (a run against the function timeout): "280 s". */
export function seconds(ms: number): string {
  return `${trim(ms / SECOND_MS)} s`;
}

/** A size for a person: "512 KiB", "32 MiB"; plain bytes when it is not a whole number of either. */
export function bytes(count: number): string {
  if (count >= 1024 * 1024 && count % (1024 * 1024) === 0) return `${count / (1024 * 1024)} MiB`;
  if (count >= 1024 && count % 1024 === 0) return `${count / 1024} KiB`;
  return `${count} bytes`;
}

/** An integer as code, with thousands kept together: `240000`. */
export function code(text: string | number): string {
  return `\`${String(text)}\``;
}

/** A Markdown table; cells must not hold a pipe. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  for (const cell of [...header, ...rows.flat()]) {
    if (cell.includes('|')) throw new Error(`a table cell must not contain "|": ${cell}`);
  }
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function trim(value: number): string {
  return String(Math.round(value * 10) / 10);
}
