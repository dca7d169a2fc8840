import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

/**
 * What a workspace package's code needs at run time and in its declarations: the npm packages its entry reaches
 * through the relative imports of src/. tsc compiles exactly those files into the package (its tsconfig names
 * only the entry), so this is the list its package.json must declare, read without compiling.
 */
export interface ImportedPackages {
  /** Each npm package imported, with the files (relative to `root`) that import it; Node's built-ins left out. */
  readonly packages: ReadonlyMap<string, readonly string[]>;
}

const BUILTINS = new Set(builtinModules);

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`: the package a specifier installs from. */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** The packages imported by the files that `entry` (a path relative to `root`) reaches through relative imports. */
export function importedPackages(root: string, entry: string): ImportedPackages {
  const files = new Set<string>();
  const packages = new Map<string, string[]>();
  const pending = [path.resolve(root, entry)];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    const relative = path.relative(root, file);
    if (files.has(relative)) continue;
    files.add(relative);
    // preProcessFile lists every import and export … from, type-only ones too: a declaration file needs them.
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (specifier.startsWith('.')) {
        pending.push(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
      } else if (!specifier.startsWith('node:') && !BUILTINS.has(specifier)) {
        const name = packageOf(specifier);
        packages.set(name, [...(packages.get(name) ?? []), relative]);
      }
    }
  }
  return { packages };
}
