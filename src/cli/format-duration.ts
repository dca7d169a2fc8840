const UNITS: readonly [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** An age as an operator reads it ("2d 3h", "4m 10s", "0s"): the two largest units are enough to judge a backlog. */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.max(0, Math.floor(ms));
  for (const [unit, size] of UNITS) {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount > 0 || parts.length > 0) parts.push(`${amount}${unit}`);
  }
  const shown = parts.slice(0, 2).filter((part, index) => index === 0 || !part.startsWith('0'));
  return shown.length === 0 ? '0s' : shown.join(' ');
}
