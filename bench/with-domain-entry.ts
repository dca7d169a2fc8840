/**
 * The function as src/index.ts registers it, but leaving the Functions Framework's per-request `domain` in
 * place: the bench serves this (`--source`) to measure what the domain costs per event.
 */
import { http } from '@google-cloud/functions-framework';
import { createOutboundEventHandler } from '../dist/function/outbound-event-handler.js';

http('outboundEventHandler', createOutboundEventHandler({ guardAsyncErrors: true }));
