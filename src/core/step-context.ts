import type { Logger } from './ports.js';

/** What a run's steps kept in modules of their own (lease-acquisition.ts, run-tail.ts) need of the run. */
export interface StepContext {
  /** A Firestore call bounded by FIRESTORE_TIMEOUT_MS, and by `share` of what is left before a shutdown deadline. */
  readonly bounded: <T>(work: Promise<T>, what: string, share?: number) => Promise<T>;
  /** The run's log: every entry carries its runId. */
  readonly log: (severity: Parameters<Logger['log']>[0], message: string, fields?: Readonly<Record<string, unknown>>) => void;
}
