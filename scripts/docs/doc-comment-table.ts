import { table } from './format.js';

/**
 * The table in the doc comment above `export function <name>(` (decide.ts keeps the rule for an event's fate
 * that way), as a Markdown table: a row with an empty cell continues the row above and is joined to it.
 */
export function docCommentTable(source: string, functionName: string): string {
  const at = source.indexOf(`export function ${functionName}(`);
  const commentStart = source.lastIndexOf('/**', at);
  if (at === -1 || commentStart === -1) throw new Error(`no doc comment above export function ${functionName}`);
  const lines = source
    .slice(commentStart, at)
    .split('\n')
    .map((line) => line.replace(/^\s*\*\s?/, '').trim())
    .filter((line) => line.startsWith('|'));
  const cells = (line: string): string[] =>
    line
      .slice(1, -1)
      .split('|')
      .map((cell) => cell.trim());
  const [header, separator, ...body] = lines;
  if (header === undefined || separator === undefined || !/^\|[-| ]+\|$/.test(separator)) {
    throw new Error(`the doc comment of ${functionName} has no table`);
  }
  const rows: string[][] = [];
  for (const line of body) {
    const row = cells(line);
    const previous = rows.at(-1);
    if (row.includes('') && previous !== undefined) {
      row.forEach((cell, i) => {
        if (cell !== '') previous[i] = `${previous[i] ?? ''} ${cell}`.trim();
      });
    } else {
      rows.push(row);
    }
  }
  return table(cells(header), rows);
}
