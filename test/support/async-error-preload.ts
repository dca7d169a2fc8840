/**
 * Preloaded into a served function (NODE_OPTIONS=--import) by test/e2e/async-error.test.ts: when the relay
 * starts the POST of the event named by INJECT_ASYNC_ERROR_EVENT_ID, an error is thrown from a timer, outside
 * every promise chain, as a dependency's unguarded callback would throw it. Once per process.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

const eventId = process.env.INJECT_ASYNC_ERROR_EVENT_ID;
let thrown = false;

diagnosticsChannel.subscribe('http.client.request.start', (message) => {
  const { request } = message as { request: ClientRequest };
  if (thrown || eventId === undefined || request.getHeader('ce-id') !== eventId) return;
  thrown = true;
  setTimeout(() => {
    throw new Error('injected asynchronous error');
  }, 0);
});
