import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { REMOVED_SETTINGS } from '../../../src/settings/removed.js';
import { PROJECT_ROOT } from '../../support/project-root.js';

/*
 * The README is a newcomer's first screen: short, two commands, and a configuration table that says exactly
 * what parseConfig reads and does. The table is checked against the code here without the generator that
 * writes it: the variables by watching parseConfig read its environment, each default by setting the variable
 * to it and finding the configuration unchanged.
 */

const read = (file: string): string => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const readme = read('README.md');
type Env = Record<string, string | undefined>;

const ROUTER_URL = 'https://router.example.com/events';
/** Environments that make parseConfig read every variable it knows (some only for one ROUTER_AUTH). */
const CONTEXTS: readonly Env[] = [
  { ROUTER_URL },
  { ROUTER_URL, ROUTER_AUTH: 'google-id-token' },
  { ROUTER_URL, ROUTER_AUTH: 'hmac', ROUTER_HMAC_SECRET: `whsec_${Buffer.alloc(24, 1).toString('base64')}` },
];

/** Variables parseConfig looks at only to refuse them: they were removed (docs/deploy.md lists them). */
const REMOVED = new Set(REMOVED_SETTINGS.map((removed) => removed.variable));

/** Each variable parseConfig reads, with the first context that reads it. */
function variablesParseConfigReads(): Map<string, Env> {
  const read = new Map<string, Env>();
  for (const context of CONTEXTS) {
    parseConfig(
      new Proxy(context, {
        get(target, name, receiver) {
          if (typeof name === 'string' && !REMOVED.has(name) && !read.has(name)) read.set(name, context);
          return Reflect.get(target, name, receiver) as unknown;
        },
      }),
    );
  }
  return read;
}

/** The README's configuration table: variable → its Default cell. */
function configurationTable(): Map<string, string> {
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|').map((cell) => cell.trim()));
  return new Map(rows.map((cells) => [(cells[1] ?? '').replaceAll('`', ''), cells[2] ?? '']));
}

function withoutVariable(env: Env, variable: string): Env {
  const copy = { ...env };
  delete copy[variable];
  return copy;
}

describe('Docs: README.md', () => {
  it('fits on a screen or so: at most 300 lines', () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(300);
  });

  it('gives a Quick start of exactly two commands in one sh block: npm run local, npm test', () => {
    const start = readme.search(/^## .*Quick start/m);
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const blocks = [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)];

    expect(start).toBeGreaterThan(-1);
    expect(blocks.map((block) => block[1])).toEqual(['sh']);
    expect(blocks[0]?.[2]?.trim().split('\n')).toEqual(['npm run local', 'npm test']);
  });

  it('lists in its configuration table exactly the variables parseConfig reads', () => {
    expect([...configurationTable().keys()].sort()).toEqual([...variablesParseConfigReads().keys()].sort());
  });

  it('gives each variable the default parseConfig applies: setting a variable to it changes nothing', () => {
    const contexts = variablesParseConfigReads();
    const wrong: string[] = [];
    for (const [variable, cell] of configurationTable()) {
      const context = contexts.get(variable) ?? {};
      const shown = /`([^`]+)`/.exec(cell)?.[1];
      if (shown === undefined) continue;
      // A default that names another variable is that variable's value, or a part of it.
      const named = /^[A-Z][A-Z0-9_]*$/.test(shown) && shown in context ? context[shown] : undefined;
      // ROUTER_AUDIENCE's default is ROUTER_URL's origin: scheme, host and port, as Cloud Run checks audiences.
      const value = named === undefined ? shown : cell.includes('’s origin') ? new URL(named).origin : named;
      const unset = parseConfig(withoutVariable(context, variable));
      const set = parseConfig({ ...withoutVariable(context, variable), [variable]: value });
      if (JSON.stringify(set) !== JSON.stringify(unset)) wrong.push(`${variable}=${value}`);
    }

    expect(wrong).toEqual([]);
  });

  it('marks as required exactly the variables without which parseConfig refuses to start, and shows no default for them', () => {
    const contexts = variablesParseConfigReads();
    const refused = [...contexts].filter(([variable, context]) => {
      try {
        parseConfig(withoutVariable(context, variable));
        return false;
      } catch (error) {
        return error instanceof ConfigError && error.variable === variable;
      }
    });
    const required = [...configurationTable()].filter(([, cell]) => cell.includes('required'));

    expect(required.map(([variable]) => variable).sort()).toEqual(refused.map(([variable]) => variable).sort());
    expect(required.filter(([, cell]) => cell.includes('`'))).toEqual([]);
  });
});

describe('Docs: links', () => {
  /** Pages other sessions write; a link to one is checked once it exists. */
  const WRITTEN_ELSEWHERE = new Set(['docs/performance.md']);
  const pages = [
    'README.md',
    'CONTRIBUTING.md',
    'packages/producer/README.md',
    'packages/inbox/README.md',
    ...readdirSync(path.join(PROJECT_ROOT, 'docs')).map((file) => `docs/${file}`),
  ].filter((page) => page.endsWith('.md'));

  /** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
  const anchorsOf = (page: string): Set<string> =>
    new Set(
      [...read(page).matchAll(/^#{1,6} (.+)$/gm)].map((match) =>
        (match[1] as string)
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, '')
          .replaceAll(' ', '-'),
      ),
    );

  it.each(pages)('%s links only to files and headings that exist', (page) => {
    const broken: string[] = [];
    const text = read(page).replace(/```[\s\S]*?```/g, '');
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = match[1] as string;
      if (/^[a-z]+:/.test(link)) continue;
      const [file = '', anchor] = link.split('#');
      const target = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
      if (WRITTEN_ELSEWHERE.has(target) && !existsSync(path.join(PROJECT_ROOT, target))) continue;
      if (!existsSync(path.join(PROJECT_ROOT, target))) broken.push(link);
      else if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(target).has(anchor)) broken.push(link);
    }

    expect(broken).toEqual([]);
  });
});
