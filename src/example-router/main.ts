import { http } from '@google-cloud/functions-framework';
import { createCloudLogger } from '../adapters/cloud-logger.js';
import { createFirestore } from '../adapters/firestore-client.js';
import { parseExampleRouterConfig } from '../config.js';
import { createExampleRouter } from './example-router.js';

const config = parseExampleRouterConfig();
http(
  'exampleRouter',
  createExampleRouter({
    firestore: createFirestore(config),
    ledgerCollection: config.ledgerCollection,
    inboxCollection: config.inboxCollection,
    consumer: config.consumer,
    logger: createCloudLogger({ minSeverity: config.logLevel }),
  }),
);
