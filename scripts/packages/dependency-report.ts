import { installedDependencies, type InstalledPackage, type Lockfile } from './installed-dependencies.js';

/** A package.json, as far as the report reads it. */
export interface Manifest {
  readonly name: string;
  readonly workspaces?: readonly string[];
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly exports?: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
}

/** What installing one of the repository's packages costs a user: what it declares and what npm then installs. */
export interface DependencyReport {
  readonly name: string;
  /** Where the package sits in the repository: '' for the relay, `packages/producer`… */
  readonly location: string;
  /** Its runtime dependencies, as its package.json declares them. */
  readonly declared: readonly string[];
  /** Every package `npm install <name>` brings with it, itself excluded. */
  readonly installed: readonly InstalledPackage[];
}

/** The one dependency a producer or a consumer cannot do without: the events and the inbox live in Firestore. */
export const FIRESTORE_CLIENT = '@google-cloud/firestore';

/**
 * The relay's report first, then one per workspace package, in the order the root package.json lists them;
 * `manifests` holds each package.json by location ('' for the root). Offline: package-lock.json is the source.
 */
export function dependencyReports(lock: Lockfile, manifests: Readonly<Record<string, Manifest>>): DependencyReport[] {
  const root = manifests[''];
  if (root === undefined) throw new Error('the root package.json is missing');
  return ['', ...(root.workspaces ?? [])].map((location) => {
    const manifest = manifests[location];
    if (manifest === undefined) throw new Error(`${location}/package.json is missing`);
    return {
      name: manifest.name,
      location,
      declared: Object.keys(manifest.dependencies ?? {}).sort(),
      installed: installedDependencies(lock, location),
    };
  });
}

/**
 * The rule for the producer and inbox packages: they may install the Firestore client with what it brings, and
 * declared dependencies that bring nothing of their own (zod, @opentelemetry/api); anything else is weight
 * that a service writing or receiving events would pay for the relay. Returns that weight as `name@version`,
 * sorted: empty for a light package.
 */
export function weightBeyondFirestore(lock: Lockfile, report: DependencyReport): string[] {
  const key = (dependency: InstalledPackage): string => `${dependency.name}@${dependency.version}`;
  const allowed = new Set(installedDependencies(lock, report.location, [FIRESTORE_CLIENT]).map(key));
  for (const name of report.declared) {
    const own = installedDependencies(lock, report.location, [name]);
    if (own.length === 1) allowed.add(key(own[0] as InstalledPackage));
  }
  return report.installed.map(key).filter((dependency) => !allowed.has(dependency));
}
