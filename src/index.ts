import { http } from '@google-cloud/functions-framework';
import { serveWithoutRequestDomains } from './function/async-error-guard.js';
import { createOutboundEventHandler } from './function/outbound-event-handler.js';

// No per-request domain (its async hook cost ~28 % of the CPU per event); the guard takes over its error path.
serveWithoutRequestDomains();
http('outboundEventHandler', createOutboundEventHandler({ guardAsyncErrors: true }));
