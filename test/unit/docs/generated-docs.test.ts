import { readFileSync } from 'node:fs';
import path from 'node:path';
import { longestRunMs, parseConfig } from '../../../src/config.js';
import { JITTER_HIGH, JITTER_LOW, backoffDelayMs, shortestRedeliverySpanMs } from '../../../src/core/backoff.js';
import { REMOVED_SETTINGS } from '../../../src/settings/removed.js';
import { SETTINGS } from '../../../src/settings/settings.js';
import { PAGES, renderPage } from '../../../scripts/docs/pages.js';
import { PRODUCT_FILES, type Product, type ProductFile } from '../../../scripts/docs/product.js';
import { PROJECT_ROOT } from '../../support/project-root.js';

/*
 * The tables derived from the code (configuration, bounds, redelivery schedule, deploy timing, substitutions,
 * Firestore queries and indexes) are written into the pages by `npm run docs`, never by hand. Rendered here from
 * src/, each page must be exactly what is committed; otherwise the code changed and the docs did not follow.
 */

const read = (file: string): string => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const product: Product = {
  parseConfig,
  longestRunMs,
  settings: SETTINGS,
  removedSettings: REMOVED_SETTINGS,
  backoffDelayMs,
  shortestRedeliverySpanMs,
  jitter: { low: JITTER_LOW, high: JITTER_HIGH },
  files: Object.fromEntries(PRODUCT_FILES.map((file) => [file, read(file)])) as Record<ProductFile, string>,
};

describe('Docs: generated sections', () => {
  it.each(Object.keys(PAGES))('%s is up to date with the code (npm run docs writes it)', async (page) => {
    const committed = read(page);

    expect(await renderPage(PROJECT_ROOT, page, committed, product)).toBe(committed);
  });
});
