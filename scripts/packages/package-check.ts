import type { Lockfile } from './installed-dependencies.js';
import { importedPackages } from './imported-packages.js';
import { weightBeyondFirestore, type DependencyReport, type Manifest } from './dependency-report.js';

/**
 * The source file a workspace package is compiled from: its `.` export, `./dist/producer/index.js`, is what
 * tsc emits for `src/producer/index.ts`, as the package's tsconfig compiles src/ (rootDir) into dist/.
 */
export function sourceEntry(manifest: Manifest): string {
  const exported = manifest.exports?.['.'];
  const target = typeof exported === 'string' ? exported : exported?.['default'];
  const match = target === undefined ? null : /^\.\/dist\/(.+)\.js$/.exec(target);
  if (match === null) throw new Error(`${manifest.name}: its "." export must be ./dist/<path>.js, compiled from src/<path>.ts`);
  return `src/${match[1] as string}.ts`;
}

/**
 * Why a workspace package is not fit to publish as a light package, one line each; empty when it is: a package
 * its sources import that its package.json does not declare (it would fail to load once installed alone), one
 * it declares and never imports (installed for nothing), and the relay's weight it would install.
 */
export function packageProblems(root: string, lock: Lockfile, manifest: Manifest, report: DependencyReport): string[] {
  const { packages } = importedPackages(root, sourceEntry(manifest));
  const declared = new Set(report.declared);
  const problems: string[] = [];
  for (const [name, files] of packages) {
    if (!declared.has(name)) problems.push(`${report.name} imports ${name} (${files.join(', ')}) but does not declare it`);
  }
  for (const name of declared) {
    if (!packages.has(name)) problems.push(`${report.name} declares ${name} but its sources never import it`);
  }
  for (const dependency of weightBeyondFirestore(lock, report)) {
    problems.push(`${report.name} installs ${dependency}, which neither the Firestore client nor a dependency-free package brings`);
  }
  return problems;
}
