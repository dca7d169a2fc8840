/**
 * What `npm install <package>` puts into a user's node_modules, worked out offline from package-lock.json: the
 * lockfile already holds, for every package the repository installs, its version and its own dependencies, so
 * the closure of a workspace package (or of the relay, at the root) is a walk over it, with no registry asked.
 */

/** One entry of package-lock.json's `packages` (lockfileVersion 2 or 3), as far as the walk reads it. */
export interface LockEntry {
  readonly name?: string;
  readonly version?: string;
  readonly link?: boolean;
  readonly resolved?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
}

/** package-lock.json, as far as the walk reads it: entries by location ('' is the root, 'packages/inbox'…). */
export interface Lockfile {
  readonly packages: Readonly<Record<string, LockEntry>>;
}

/** A package that an install brings, by the name it is installed under and its version. */
export interface InstalledPackage {
  readonly name: string;
  readonly version: string;
}

/** The name a `node_modules/…` location installs, e.g. `@google-cloud/firestore`. */
function nameAt(location: string): string {
  return location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** Where Node finds `name` from `location`: its own node_modules first, then each ancestor's, up to the root. */
function resolveFrom(lock: Lockfile, location: string, name: string): string | undefined {
  let dir = location;
  for (;;) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[candidate] !== undefined) return candidate;
    if (dir === '') return undefined;
    const parent = dir.lastIndexOf('/node_modules/');
    dir = parent === -1 ? '' : dir.slice(0, parent);
  }
}

/** What an install of the entry at `location` installs with it: dependencies, optional ones, required peers. */
function requiredBy(entry: LockEntry): string[] {
  const peers = Object.keys(entry.peerDependencies ?? {}).filter((name) => entry.peerDependenciesMeta?.[name]?.optional !== true);
  return [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...peers];
}

/**
 * Every package installed with the one at `location` ('' for the root, `packages/producer` for a workspace),
 * itself excluded, each name and version once, sorted by name; with `only`, just what those of its
 * dependencies install, themselves included. Development dependencies are left out: npm does not install a
 * dependency's. A dependency the lockfile does not hold (an optional one for another platform) is skipped, as
 * npm skips it.
 */
export function installedDependencies(lock: Lockfile, location: string, only?: readonly string[]): InstalledPackage[] {
  const entry = lock.packages[location];
  if (entry === undefined) throw new Error(`package-lock.json has no package at '${location}': run npm install`);
  const start: LockEntry = only === undefined ? entry : { dependencies: Object.fromEntries(only.map((name) => [name, '*'])) };
  const found = new Map<string, InstalledPackage>();
  const visited = new Set<string>([location]);
  const pending: Array<readonly [string, LockEntry]> = [[location, start]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [from, entry] = next;
    for (const name of requiredBy(entry)) {
      const at = resolveFrom(lock, from, name);
      if (at === undefined || visited.has(at)) continue;
      visited.add(at);
      const installed = lock.packages[at] as LockEntry;
      // A workspace package is a link: its dependencies are those of the folder it points to.
      const target = installed.link === true && installed.resolved !== undefined ? installed.resolved : at;
      const resolved = lock.packages[target] ?? installed;
      const version = resolved.version ?? '0.0.0';
      found.set(`${nameAt(at)}@${version}`, { name: nameAt(at), version });
      pending.push([target, resolved]);
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}
