import { RemovedSettingError } from '../errors.js';
import { rawValue, type Env } from './declare.js';

/** A variable earlier versions read whose value now follows from another setting or from the platform. */
export interface RemovedSetting {
  readonly variable: string;
  /** What the value is now, and why it needs no variable of its own. */
  readonly replacedBy: string;
  /** `store`: the producer API and outbox-ops refuse it too; `relay`: only the function. */
  readonly scope: 'store' | 'relay';
}

/**
 * Every removed variable, with what took its place. Set anywhere, it stops the relay at start naming it, so a
 * deployment never believes a setting holds that is silently ignored.
 */
export const REMOVED_SETTINGS: readonly RemovedSetting[] = [
  {
    variable: 'LEASE_TTL_MS',
    replacedBy:
      'the run lease lasts 3 × FIRESTORE_TIMEOUT_MS (30 s by default), the shortest that lets two renewals time out; set FIRESTORE_TIMEOUT_MS instead',
    scope: 'relay',
  },
  {
    variable: 'CHECKPOINT_SIZE',
    replacedBy: 'outcomes are recorded per BATCH_SIZE (a page’s worth per Firestore commit); set BATCH_SIZE instead',
    scope: 'relay',
  },
  {
    variable: 'SHUTDOWN_TIMEOUT_MS',
    replacedBy: 'a run answers within 8 s of SIGTERM, 2 s before Cloud Run’s fixed SIGKILL at 10 s, which no setting changes',
    scope: 'relay',
  },
  {
    variable: 'AUDIT_COLLECTION',
    replacedBy:
      'run audits go to the collection named after OUTBOX_COLLECTION: its name without a final "s", then _runs (outbound_event_runs by default)',
    scope: 'store',
  },
  {
    variable: 'LEASE_COLLECTION',
    replacedBy:
      'run leases go to the collection named after OUTBOX_COLLECTION: its name without a final "s", then _leases (outbound_event_leases by default)',
    scope: 'store',
  },
  {
    variable: 'PARKED_KEYS_COLLECTION',
    replacedBy:
      'parked keys go to the collection named after OUTBOX_COLLECTION: its name without a final "s", then _parked_keys (outbound_event_parked_keys by default), so two outboxes never share parked keys',
    scope: 'store',
  },
];

/** Stops at the first removed variable of these scopes that `env` sets, naming it and what replaced it. */
export function refuseRemovedSettings(env: Env, scopes: readonly RemovedSetting['scope'][]): void {
  for (const removed of REMOVED_SETTINGS) {
    if (scopes.includes(removed.scope) && rawValue(env, removed.variable) !== undefined) {
      throw new RemovedSettingError(removed.variable, removed.replacedBy);
    }
  }
}
