/**
 * `node scripts/package-deps.ts`: how many packages `npm install` brings for the relay and for each package a
 * producing or consuming service can install alone (packages/producer, packages/inbox), counted offline from
 * package-lock.json; then why a package would not be light, one line each, exiting 1 if any
 * (test/unit/packages/dependencies.test.ts checks the same).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

await import(new URL('./resolve-ts.ts', import.meta.url).href);
const { dependencyReports } = await import('./packages/dependency-report.js');
const { packageProblems } = await import('./packages/package-check.js');
type Manifest = import('./packages/dependency-report.js').Manifest;
type Lockfile = import('./packages/installed-dependencies.js').Lockfile;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(root, file), 'utf8')) as T;
const lock = readJson<Lockfile>('package-lock.json');
const rootManifest = readJson<Manifest>('package.json');
const manifests: Record<string, Manifest> = { '': rootManifest };
for (const location of rootManifest.workspaces ?? []) manifests[location] = readJson<Manifest>(`${location}/package.json`);

const reports = dependencyReports(lock, manifests);
const width = Math.max(...reports.map((report) => report.name.length));
process.stdout.write(`${'package'.padEnd(width)}  declares  installs\n`);
for (const report of reports) {
  process.stdout.write(
    `${report.name.padEnd(width)}  ${String(report.declared.length).padStart(8)}  ${String(report.installed.length).padStart(8)}\n`,
  );
}
const problems = reports
  .filter((report) => report.location !== '')
  .flatMap((report) => packageProblems(root, lock, manifests[report.location] as Manifest, report));
for (const problem of problems) process.stderr.write(`${problem}\n`);
process.exitCode = problems.length === 0 ? 0 : 1;
