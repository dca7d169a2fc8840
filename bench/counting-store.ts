import type { EventOutcome, RunSummary, StoredDocument } from '../dist/core/event.js';
import type { HeldLease, OutboxPage, OutboxStore, PageCursor, RecordReport, Unsubscribe } from '../dist/core/ports.js';
import type { SweepPlan } from '../dist/core/stray-sweep.js';

/** Calls and documents that crossed the store interface; the raw material of the reads/writes-per-event figure. */
export interface StoreCounts {
  readonly fetchPendingCalls: number;
  /** fetchPending calls that returned no document: Firestore still bills one read for each. */
  readonly emptyFetches: number;
  readonly fetchStraysCalls: number;
  /** Of those, sweeps that counted the whole outbox (two aggregations over every document). */
  readonly wholeOutboxCounts: number;
  /** Documents returned by fetchPending and fetchStrays. */
  readonly documentsRead: number;
  readonly recordOutcomesCalls: number;
  /** Outcomes handed to recordOutcomes: one document write each. */
  readonly documentsWritten: number;
  /** Largest single recordOutcomes call, i.e. the checkpoint size in practice. */
  readonly largestRecord: number;
  /** Commits those calls need at `writesPerCommit` writes each; with a lease, each commit also reads the lease once. */
  readonly commits: number;
  readonly auditWrites: number;
}

/** Passes every call to the real store and counts what goes through, without changing a result or an error. */
export class CountingOutboxStore implements OutboxStore {
  private counts: StoreCounts = {
    fetchPendingCalls: 0,
    emptyFetches: 0,
    fetchStraysCalls: 0,
    wholeOutboxCounts: 0,
    documentsRead: 0,
    recordOutcomesCalls: 0,
    documentsWritten: 0,
    largestRecord: 0,
    commits: 0,
    auditWrites: 0,
  };
  private readonly inner: OutboxStore;
  private readonly writesPerCommit: number;

  constructor(inner: OutboxStore, writesPerCommit: number) {
    this.inner = inner;
    this.writesPerCommit = writesPerCommit;
  }

  /** A copy of the counts so far. */
  snapshot(): StoreCounts {
    return { ...this.counts };
  }

  async fetchPending(limit: number, after: PageCursor | undefined, maxBytes: number): Promise<OutboxPage> {
    const page = await this.inner.fetchPending(limit, after, maxBytes);
    const { counts } = this;
    this.counts = {
      ...counts,
      fetchPendingCalls: counts.fetchPendingCalls + 1,
      emptyFetches: counts.emptyFetches + (page.documents.length === 0 ? 1 : 0),
      documentsRead: counts.documentsRead + page.documents.length,
    };
    return page;
  }

  async fetchStrays(limit: number, plan: SweepPlan): Promise<readonly StoredDocument[]> {
    const strays = await this.inner.fetchStrays(limit, plan);
    this.counts = {
      ...this.counts,
      fetchStraysCalls: this.counts.fetchStraysCalls + 1,
      wholeOutboxCounts: this.counts.wholeOutboxCounts + (plan.wholeOutbox ? 1 : 0),
      documentsRead: this.counts.documentsRead + strays.length,
    };
    return strays;
  }

  fetchParkedKeys(): Promise<ReadonlySet<string>> {
    return this.inner.fetchParkedKeys();
  }

  watchPending(onChange: () => void, onError: (error: unknown) => void): Unsubscribe {
    return this.inner.watchPending(onChange, onError);
  }

  async recordOutcomes(outcomes: readonly EventOutcome[], lease: HeldLease): Promise<RecordReport> {
    const report = await this.inner.recordOutcomes(outcomes, lease);
    const { counts } = this;
    this.counts = {
      ...counts,
      recordOutcomesCalls: counts.recordOutcomesCalls + 1,
      documentsWritten: counts.documentsWritten + outcomes.length,
      largestRecord: Math.max(counts.largestRecord, outcomes.length),
      commits: counts.commits + Math.ceil(outcomes.length / this.writesPerCommit),
    };
    return report;
  }

  async writeAudit(summary: RunSummary): Promise<void> {
    await this.inner.writeAudit(summary);
    this.counts = { ...this.counts, auditWrites: this.counts.auditWrites + 1 };
  }
}
