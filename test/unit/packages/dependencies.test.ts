import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import {
  dependencyReports,
  weightBeyondFirestore,
  type DependencyReport,
  type Manifest,
} from '../../../scripts/packages/dependency-report.js';
import { installedDependencies, type Lockfile } from '../../../scripts/packages/installed-dependencies.js';
import { packageProblems, sourceEntry } from '../../../scripts/packages/package-check.js';
import { PROJECT_ROOT } from '../../support/project-root.js';

/*
 * A producing or consuming service installs outbound-event-handler-producer or -inbox (packages/), not the
 * relay: the Firestore client and little else. Counted offline from package-lock.json, as scripts/package-deps.ts
 * prints it; no registry is asked.
 */

const readJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8')) as T;
const lock = readJson<Lockfile>('package-lock.json');
const rootManifest = readJson<Manifest & { version: string }>('package.json');
const manifests: Record<string, Manifest & { version?: string }> = { '': rootManifest };
for (const location of rootManifest.workspaces ?? []) manifests[location] = readJson<Manifest>(`${location}/package.json`);
const [relay, ...packages] = dependencyReports(lock, manifests) as [DependencyReport, ...DependencyReport[]];
const rows = packages.map((report) => ({ ...report, count: report.installed.length }));

const CLIENT = '@google-cloud/firestore';
/** A lockfile of made-up packages but the client's name: the client brings `gax`, which brings a nested `auth` 2 beside the root's 1. */
const FIXTURE: Lockfile = {
  packages: {
    '': { name: 'relay', dependencies: { [CLIENT]: '*', framework: '*', tiny: '*' } },
    'packages/light': { name: 'light', dependencies: { [CLIENT]: '*', tiny: '*' } },
    'packages/heavy': { name: 'heavy', dependencies: { [CLIENT]: '*', framework: '*' } },
    'node_modules/light': { link: true, resolved: 'packages/light' },
    [`node_modules/${CLIENT}`]: { version: '9.0.0', dependencies: { gax: '*' } },
    'node_modules/gax': { version: '5.0.0', dependencies: { auth: '^2' }, optionalDependencies: { 'other-os': '*' } },
    'node_modules/gax/node_modules/auth': { version: '2.0.0' },
    'node_modules/auth': { version: '1.0.0' },
    'node_modules/framework': {
      version: '5.0.0',
      dependencies: { auth: '^1', light: '*' },
      peerDependencies: { peer: '*', maybe: '*' },
      peerDependenciesMeta: { maybe: { optional: true } },
    },
    'node_modules/peer': { version: '1.0.0' },
    'node_modules/maybe': { version: '1.0.0' },
    'node_modules/tiny': { version: '1.0.0' },
  },
};
const names = (location: string, only?: readonly string[]): string[] =>
  installedDependencies(FIXTURE, location, only).map(({ name, version }) => `${name}@${version}`);
const fixtureReport = (location: string): DependencyReport => {
  const entry = FIXTURE.packages[location];
  return {
    name: entry?.name ?? location,
    location,
    declared: Object.keys(entry?.dependencies ?? {}),
    installed: installedDependencies(FIXTURE, location),
  };
};

describe('Function: installedDependencies', () => {
  it('finds each dependency where Node would, nested before hoisted, and follows a workspace link to its folder', () => {
    expect(names('')).toEqual([
      '@google-cloud/firestore@9.0.0',
      'auth@1.0.0',
      'auth@2.0.0',
      'framework@5.0.0',
      'gax@5.0.0',
      'light@0.0.0',
      'peer@1.0.0',
      'tiny@1.0.0',
    ]);
  });

  it('leaves out optional peers and optional dependencies the lockfile does not hold, as npm does', () => {
    expect(names('')).not.toEqual(expect.arrayContaining(['maybe@1.0.0']));
    expect(names('node_modules/gax')).toEqual(['auth@2.0.0']);
  });

  it('counts, with `only`, what those dependencies install, themselves included', () => {
    expect(names('packages/light', [CLIENT])).toEqual(['@google-cloud/firestore@9.0.0', 'auth@2.0.0', 'gax@5.0.0']);
  });

  it('says to run npm install when the lockfile does not hold the package', () => {
    expect(() => installedDependencies(FIXTURE, 'packages/missing')).toThrow(/run npm install/);
  });
});

describe('Function: weightBeyondFirestore', () => {
  it.each([
    ['packages/light', 'the Firestore client and a dependency-free package', []],
    [
      'packages/heavy',
      'a package with dependencies of its own',
      ['auth@1.0.0', 'framework@5.0.0', 'light@0.0.0', 'peer@1.0.0', 'tiny@1.0.0'],
    ],
  ])('%s, declaring %s, weighs %j beyond the Firestore client', (location, _what, weight) => {
    expect(weightBeyondFirestore(FIXTURE, fixtureReport(location))).toEqual(weight);
  });
});

describe('Function: packageProblems', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'package-check-'));
    mkdirSync(path.join(root, 'src', 'producer'), { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('names a package the sources import but the package does not declare, and one declared for nothing', () => {
    writeFileSync(path.join(root, 'src', 'producer', 'index.ts'), "export { post } from './post.js';\nimport 'node:crypto';\n");
    writeFileSync(path.join(root, 'src', 'producer', 'post.ts'), "import axios from 'axios';\nexport const post = axios.post;\n");
    const manifest: Manifest = { name: 'light', exports: { '.': { default: './dist/producer/index.js' } }, dependencies: { tiny: '*' } };
    const report: DependencyReport = {
      name: 'light',
      location: 'packages/light',
      declared: ['tiny'],
      installed: [{ name: 'tiny', version: '1.0.0' }],
    };

    expect(packageProblems(root, FIXTURE, manifest, report)).toEqual([
      'light imports axios (src/producer/post.ts) but does not declare it',
      'light declares tiny but its sources never import it',
    ]);
  });
});

describe('Packages: producer and inbox installed alone', () => {
  it('are the root package.json’s workspaces: packages/producer and packages/inbox', () => {
    expect(packages.map((report) => report.location)).toEqual(['packages/producer', 'packages/inbox']);
  });

  it.each(rows)('$name installs $count packages, none of the relay’s beyond the Firestore client', (report) => {
    const manifest = manifests[report.location] as Manifest;

    expect(packageProblems(PROJECT_ROOT, lock, manifest, report)).toEqual([]);
    expect(report.count).toBeLessThan(relay.installed.length);
  });

  it.each(rows)('$name installs none of the relay’s own dependencies but the Firestore client’s and those it declares', (report) => {
    const installed = new Set(report.installed.map((dependency) => dependency.name));
    const firestore = new Set(
      installedDependencies(lock, report.location, ['@google-cloud/firestore']).map((dependency) => dependency.name),
    );

    expect(relay.declared.filter((name) => installed.has(name) && !firestore.has(name) && !report.declared.includes(name))).toEqual([]);
  });

  it.each(rows)('$name asks for the same version ranges as the relay, and has its version', (report) => {
    const manifest = manifests[report.location] as Manifest & { version?: string };

    expect(manifest.version).toBe(rootManifest.version);
    for (const name of report.declared)
      expect(`${name}@${manifest.dependencies?.[name]}`).toBe(`${name}@${rootManifest.dependencies?.[name]}`);
  });

  it.each(rows)('$name exports what its tsconfig compiles: the relay’s own source entry', (report) => {
    const manifest = manifests[report.location] as Manifest;
    const file = path.join(PROJECT_ROOT, report.location, 'tsconfig.json');
    const { config } = ts.parseConfigFileTextToJson(file, readFileSync(file, 'utf8')) as {
      config: { files: string[]; compilerOptions: { rootDir: string; outDir: string } };
    };

    expect(config.files.map((entry) => path.relative(PROJECT_ROOT, path.resolve(path.dirname(file), entry)))).toEqual([
      sourceEntry(manifest),
    ]);
    expect(path.relative(PROJECT_ROOT, path.resolve(path.dirname(file), config.compilerOptions.rootDir))).toBe('src');
    expect(config.compilerOptions.outDir).toBe('dist');
  });
});
