import { outboxCollections } from '../../../src/config.js';
import { parkedKeyDocumentId } from '../../../src/adapters/firestore-outbox-store.js';
import { useOutboxFixture } from '../../support/outbox-fixtures.js';
import { cliEnv, runInProcess } from '../../support/cli-runner.js';

const fx = useOutboxFixture();

describe('Command: release-key', () => {
  it('releases a parked key and says which dead letter stays; names a key that was not parked and exits 1', async () => {
    const parked = outboxCollections(fx.outbox).parkedKeysCollection;
    await fx.db.collection(parked).doc(parkedKeyDocumentId('order/7')).set({ orderingKey: 'order/7', eventId: 'dead-7' });
    const env = cliEnv(fx.outbox);

    const released = await runInProcess(['release-key', 'order/7'], env);
    const again = await runInProcess(['release-key', 'order/7', '--json'], env);

    expect(released.code).toBe(0);
    expect(released.stdout).toContain('order/7  released (its dead letter dead-7 stays)');
    expect((await fx.db.collection(parked).get()).size).toBe(0);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toEqual({ results: [{ orderingKey: 'order/7', outcome: 'not_parked' }] });
  });

  it('asks for a key when given none', async () => {
    const run = await runInProcess(['release-key'], cliEnv(fx.outbox));

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('name the ordering keys to release');
  });
});
