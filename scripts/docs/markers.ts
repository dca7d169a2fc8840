/**
 * Generated sections of a Markdown page: `<!-- generated:NAME -->` … `<!-- /generated:NAME -->`. Everything
 * between the two comments belongs to `npm run docs`; the prose around them is written by hand.
 */
const START = /<!-- generated:([a-z0-9-]+) -->/g;

function markers(name: string): { readonly start: string; readonly end: string } {
  return { start: `<!-- generated:${name} -->`, end: `<!-- /generated:${name} -->` };
}

/** The names of the generated sections a page holds, in order. */
export function sectionNames(text: string): string[] {
  return [...text.matchAll(START)].map((match) => match[1] as string);
}

/**
 * The page with each named section's body replaced by `sections[name]`. Throws naming the section when a page
 * lacks one it should hold, or holds one nobody writes, so a renamed marker cannot go stale silently.
 */
export function fillSections(page: string, text: string, sections: Readonly<Record<string, string>>): string {
  const found = sectionNames(text);
  const unknown = found.filter((name) => !(name in sections));
  const missing = Object.keys(sections).filter((name) => !found.includes(name));
  if (unknown.length > 0) throw new Error(`${page}: no generator writes the section(s) ${unknown.join(', ')}`);
  if (missing.length > 0)
    throw new Error(`${page}: add the markers <!-- generated:NAME --> … <!-- /generated:NAME --> for ${missing.join(', ')}`);
  let result = text;
  for (const [name, body] of Object.entries(sections)) {
    const { start, end } = markers(name);
    const from = result.indexOf(start);
    const to = result.indexOf(end, from);
    if (to === -1) throw new Error(`${page}: ${start} has no ${end}`);
    result = `${result.slice(0, from + start.length)}\n${body.trimEnd()}\n${result.slice(to)}`;
  }
  return result;
}
