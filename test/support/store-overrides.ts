import type { OutboxStore } from '../../src/core/ports.js';

/** A store with some of its calls replaced (a spec's spy, hang or failure); every other call goes to `store`. */
export function withOverrides(store: OutboxStore, overrides: Partial<OutboxStore>): OutboxStore {
  return {
    fetchPending: (limit, after, maxBytes) => store.fetchPending(limit, after, maxBytes),
    fetchStrays: (limit, plan) => store.fetchStrays(limit, plan),
    fetchParkedKeys: () => store.fetchParkedKeys(),
    watchPending: (onChange, onError) => store.watchPending(onChange, onError),
    recordOutcomes: (outcomes, lease) => store.recordOutcomes(outcomes, lease),
    writeAudit: (summary) => store.writeAudit(summary),
    ...overrides,
  };
}
