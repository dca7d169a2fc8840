import { Firestore } from '@google-cloud/firestore';

/** gRPC ALREADY_EXISTS; GrpcStatus is not a named export Jest's ESM interop can see in the CJS package. */
const ALREADY_EXISTS = 6;

describe('Firestore emulator harness', () => {
  const firestore = new Firestore({ projectId: process.env.GOOGLE_CLOUD_PROJECT });
  // A fresh collection per run, so a reused external emulator never sees stale documents.
  const collection = firestore.collection(`harness-${Date.now()}-${Math.random().toString(36).slice(2)}`);

  afterAll(async () => {
    await firestore.terminate();
  });

  it('serves transactions to the Firestore client', async () => {
    const ref = collection.doc('counter');

    await firestore.runTransaction(async (tx) => {
      const snapshot = await tx.get(ref);
      const count = snapshot.exists ? Number(snapshot.get('count')) : 0;
      tx.set(ref, { count: count + 1 });
    });

    const stored = await ref.get();
    expect(stored.exists).toBe(true);
    expect(stored.data()).toEqual({ count: 1 });
  });

  it('keeps one document per id under a create precondition', async () => {
    const ref = collection.doc('only-once');

    await ref.create({ attempt: 1 });
    await expect(ref.create({ attempt: 2 })).rejects.toMatchObject({ code: ALREADY_EXISTS });

    const stored = await ref.get();
    expect(stored.data()).toEqual({ attempt: 1 });
  });
});
