import { parseArgs } from 'node:util';
import type { Firestore } from '@google-cloud/firestore';
import { parkedDeadLetters, parkedKeyDocumentId } from '../../adapters/firestore-outbox-store.js';
import type { StoreConfig } from '../../config.js';
import { UsageError } from '../../errors.js';
import { COMMON_OPTIONS, ExitCode, readArguments, type Command } from '../command.js';

/** What became of one key asked for. */
export type ReleaseResult =
  | {
      readonly orderingKey: string;
      readonly outcome: 'released';
      /** The dead letter it was parked behind first. */
      readonly deadLetter: string;
      /** Every dead letter that held it; all stay dead letters. */
      readonly deadLetters: readonly string[];
    }
  | { readonly orderingKey: string; readonly outcome: 'not_parked' };

/**
 * Lets the later events of parked keys go on without their dead letter: for when the operator decides that
 * order does not matter for it (or the dead letter will be dropped). The dead letter itself stays as it is.
 */
export async function releaseKeys(
  firestore: Firestore,
  config: Pick<StoreConfig, 'parkedKeysCollection'>,
  keys: readonly string[],
): Promise<ReleaseResult[]> {
  const parked = firestore.collection(config.parkedKeysCollection);
  return Promise.all(
    [...new Set(keys)].map((orderingKey) =>
      firestore.runTransaction(async (tx): Promise<ReleaseResult> => {
        const ref = parked.doc(parkedKeyDocumentId(orderingKey));
        const doc = await tx.get(ref);
        if (!doc.exists) return { orderingKey, outcome: 'not_parked' };
        tx.delete(ref);
        const deadLetters = parkedDeadLetters(doc);
        return { orderingKey, outcome: 'released', deadLetter: deadLetters[0] ?? String(doc.get('eventId')), deadLetters };
      }),
    ),
  );
}

const HELP = `Usage: outbox-ops release-key <orderingKey>... [--json]

Releases ordering keys parked behind a dead letter (KEY_AFTER_DEAD_LETTER=park): their later events are
delivered again by the next run, without waiting for the dead letter, or for any other dead letter of the
key (a key parked behind several is released from all of them). The dead letters stay dead letters;
to deliver it first instead, redrive it ("outbox-ops redrive <id>"), which releases its key as well.

Options:
  --json      print one JSON document instead of text
  -h, --help  show this help

Environment: OUTBOX_COLLECTION (its parked keys are named after it), GOOGLE_CLOUD_PROJECT,
FIRESTORE_EMULATOR_HOST.
Exit codes: 0 every key released, 1 some key was not parked (or Firestore failed), 2 usage or configuration error.`;

/** `outbox-ops release-key`: the way past a dead letter when its key's order no longer matters. */
export const releaseKeyCommand: Command = {
  name: 'release-key',
  summary: 'let the later events of parked ordering keys go on without their dead letter',
  help: HELP,
  parse(argv) {
    const { values, positionals } = readArguments('release-key', () =>
      parseArgs({ args: [...argv], options: COMMON_OPTIONS, allowPositionals: true, strict: true }),
    );
    if (values.help === true) return { kind: 'help' };
    if (positionals.length === 0) throw new UsageError('name the ordering keys to release', 'release-key');
    return {
      kind: 'run',
      json: values.json === true,
      async execute(firestore, config) {
        const results = await releaseKeys(firestore, config, positionals);
        const complete = results.every((r) => r.outcome === 'released');
        const text = results
          .map((r) =>
            r.outcome === 'released'
              ? `${r.orderingKey}  released (${r.deadLetters.length > 1 ? `its dead letters ${r.deadLetters.join(', ')} stay` : `its dead letter ${r.deadLetter} stays`})`
              : `${r.orderingKey}  not parked`,
          )
          .join('\n');
        return { exitCode: complete ? ExitCode.Ok : ExitCode.Failed, json: { results }, text };
      },
    };
  },
};
