import { http } from '@google-cloud/functions-framework';
import { createOutboundEventHandler } from './function/outbound-event-handler.js';

// Served as the Functions Framework serves any function, each request in its domain; after an uncaught
// exception the runs in flight answer, then the process exits (exit-after-uncaught-exception.ts).
http('outboundEventHandler', createOutboundEventHandler({ exitAfterUncaughtException: true }));
