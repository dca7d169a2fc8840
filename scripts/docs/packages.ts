import { FIRESTORE_CLIENT, dependencyReports, type Manifest } from '../packages/dependency-report.js';
import { installedDependencies, type Lockfile } from '../packages/installed-dependencies.js';
import { sourceEntry } from '../packages/package-check.js';
import { code, table } from './format.js';
import type { Product } from './product.js';

/** The workspace packages' manifests, by location, as the product files hold them. */
const WORKSPACE_MANIFESTS = ['packages/producer/package.json', 'packages/inbox/package.json'] as const;

/**
 * The README's install table: for the relay and each package a service can install alone, the install line,
 * the API it carries and how many packages npm installs with it, counted from package-lock.json.
 */
export function packagesTable(product: Product): string {
  const lock = JSON.parse(product.files['package-lock.json']) as Lockfile;
  const rootManifest = JSON.parse(product.files['package.json']) as Manifest;
  const manifests: Record<string, Manifest> = { '': rootManifest };
  for (const file of WORKSPACE_MANIFESTS) manifests[file.slice(0, -'/package.json'.length)] = JSON.parse(product.files[file]) as Manifest;
  const reports = dependencyReports(lock, manifests);
  const rows = reports.map((report) => {
    const manifest = manifests[report.location] as Manifest;
    // src/producer/index.ts is the relay's `outbound-event-handler/producer`.
    const api =
      report.location === ''
        ? 'the relay, `outbox-ops` and both APIs'
        : code(`${rootManifest.name}/${sourceEntry(manifest).split('/')[1] ?? ''}`);
    const firestore = installedDependencies(lock, report.location, [FIRESTORE_CLIENT]).length;
    return [code(`npm install ${report.name}`), api, String(report.installed.length), String(firestore)];
  });
  // The relay last: the packages are what a producing or consuming service reaches for.
  const [relay, ...packages] = rows;
  return table(
    ['Install', 'API', 'Packages installed with it', 'Of them, brought by the Firestore client'],
    [...packages, ...(relay === undefined ? [] : [relay])],
  );
}
