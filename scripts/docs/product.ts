import type { Config, longestRunMs } from '../../src/config.js';
import type { backoffDelayMs, shortestRedeliverySpanMs } from '../../src/core/backoff.js';
import type { REMOVED_SETTINGS } from '../../src/settings/removed.js';
import type { SETTINGS } from '../../src/settings/settings.js';

/**
 * What the generated tables are computed from: the product's own functions and files. The docs script passes
 * the built dist/ (Node runs scripts/ without a compiler), the unit test passes src/, so both render the same.
 */
export interface Product {
  readonly parseConfig: (env: Readonly<Record<string, string | undefined>>) => Readonly<Config>;
  readonly longestRunMs: typeof longestRunMs;
  /** Every variable, declared once (src/settings/settings.ts). */
  readonly settings: typeof SETTINGS;
  /** The variables earlier versions read (src/settings/removed.ts). */
  readonly removedSettings: typeof REMOVED_SETTINGS;
  readonly backoffDelayMs: typeof backoffDelayMs;
  readonly shortestRedeliverySpanMs: typeof shortestRedeliverySpanMs;
  readonly jitter: { readonly low: number; readonly high: number };
  /** Repository files the tables read, by path from the root (src/config.ts, cloudbuild.yaml…). */
  readonly files: Readonly<Record<ProductFile, string>>;
}

/** The files a table is derived from; the docs script and the test read these and nothing else. */
export const PRODUCT_FILES = [
  'src/config.ts',
  'src/settings/settings.ts',
  'src/core/relay.ts',
  'src/core/decide.ts',
  'src/core/read-start.ts',
  'src/core/stray-sweep.ts',
  'src/function/outbound-event-handler.ts',
  'cloudbuild.yaml',
  'deploy/function.yaml',
  'scheduler.yaml',
  'firestore.indexes.json',
  'package.json',
  'package-lock.json',
  'packages/producer/package.json',
  'packages/inbox/package.json',
] as const;
export type ProductFile = (typeof PRODUCT_FILES)[number];
