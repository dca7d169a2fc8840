import { http } from '@google-cloud/functions-framework';
import { ConfigError, createCloudLogger, createFirestore } from 'outbound-event-handler';
import { parseExampleRouterConfig } from './config.js';
import { createExampleRouter } from './example-router.js';

/** Registers exampleRouter; a bad environment answers every request 500 naming the variable, as the relay does. */
function register(): void {
  let config;
  try {
    config = parseExampleRouterConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const logger = createCloudLogger();
    logger.log('ERROR', error.message, { variable: error.variable });
    http('exampleRouter', (_req, res) => {
      res.status(500).json({ error: 'configuration', variable: error.variable, message: error.message });
    });
    return;
  }
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
}

register();
