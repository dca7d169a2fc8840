/**
 * The function as it was served before it used the Functions Framework as designed (commit 67032c3): Node's
 * `domain.create()` replaced, for the whole process, by a plain emitter, so the framework's per-request domain,
 * and the async hook it enables, never exist. Not the product (src/index.ts no longer does this): the bench
 * serves this (`--source`) beside src/index.ts, in the same rounds, to measure what the domain costs per event.
 */
import { http } from '@google-cloud/functions-framework';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { createOutboundEventHandler } from '../dist/function/outbound-event-handler.js';

const domainModule = createRequire(import.meta.url)('node:domain') as { create: () => unknown; createDomain: () => unknown };
const create = (): unknown => Object.assign(new EventEmitter(), { run: <T>(fn: () => T): T => fn() });
domainModule.create = create;
domainModule.createDomain = create;

http('outboundEventHandler', createOutboundEventHandler({ exitAfterUncaughtException: true }));
