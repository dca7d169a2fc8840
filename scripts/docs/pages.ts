import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { deployValues, substitutionsTable } from './deploy-files.js';
import { docCommentTable } from './doc-comment-table.js';
import { gcloudCommands, queriesTable, type IndexFile } from './firestore-indexes.js';
import { fillSections } from './markers.js';
import { packagesTable } from './packages.js';
import type { Product } from './product.js';
import { removedSettingsTable, settingsTable } from './settings.js';
import { inRunRetriesTable, leaseAndShutdownTable, redeliveryTable, timingTable } from './timing.js';

/** The settings failure-semantics.md lists: everything that bounds a run or decides an event's fate. */
const BOUNDS = [
  'POST_TIMEOUT_MS',
  'POST_RETRIES',
  'RETRY_MIN_DELAY_MS',
  'RETRY_MAX_DELAY_MS',
  'MAX_ATTEMPTS',
  'REDELIVERY_MIN_DELAY_MS',
  'REDELIVERY_MAX_DELAY_MS',
  'BREAKER_THRESHOLD',
  'KEY_AFTER_DEAD_LETTER',
  'MAX_REDRIVES',
  'RUN_BUDGET_MS',
  'FIRESTORE_TIMEOUT_MS',
  'MAX_IN_FLIGHT_BYTES',
  'MAX_PAYLOAD_BYTES',
];

type Sections = (product: Product) => Record<string, string>;

/** Every page with generated sections, and what writes each section. */
export const PAGES: Readonly<Record<string, Sections>> = {
  'README.md': (product) => ({ config: settingsTable(product, { deploy: true }), packages: packagesTable(product) }),
  'docs/failure-semantics.md': (product) => ({
    decide: docCommentTable(product.files['src/core/decide.ts'], 'decide'),
    'read-start': docCommentTable(product.files['src/core/read-start.ts'], 'readStart'),
    'sweep-plan': docCommentTable(product.files['src/core/stray-sweep.ts'], 'sweepPlan'),
    bounds: settingsTable(product, { only: BOUNDS }),
    'in-run-retries': inRunRetriesTable(product),
    redelivery: redeliveryTable(product),
  }),
  'docs/deploy.md': (product) => {
    const deploy = deployValues(product.files['cloudbuild.yaml'], product.files['scheduler.yaml'], product.files['deploy/function.yaml']);
    return {
      substitutions: substitutionsTable(product.files['cloudbuild.yaml']),
      removed: removedSettingsTable(product),
      timing: timingTable(product, deploy),
      lease: leaseAndShutdownTable(product, deploy),
    };
  },
  'docs/operations.md': (product) => {
    const file = JSON.parse(product.files['firestore.indexes.json']) as IndexFile;
    return {
      queries: queriesTable(file),
      'gcloud-indexes': ['```sh', "DATABASE='(default)'   # or the relay's FIRESTORE_DATABASE", ...gcloudCommands(file), '```'].join('\n'),
    };
  },
};

/**
 * A page with its generated sections as the product says they are now, formatted as `npm run format` would
 * format it (Prettier aligns Markdown tables), so formatting the repository never makes a page look stale.
 */
export async function renderPage(root: string, page: string, text: string, product: Product): Promise<string> {
  const sections = PAGES[page];
  if (sections === undefined) throw new Error(`${page} has no generated sections`);
  const filepath = path.join(root, page);
  const options = (await resolveConfig(filepath, { editorconfig: true })) ?? {};
  return format(fillSections(page, text, sections(product)), { ...options, filepath });
}
