import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createOutboundEventHandler, type HandlerOptions } from '../../src/function/outbound-event-handler.js';
import type { Logger, Severity } from '../../src/core/ports.js';

export interface LogEntry {
  readonly severity: Severity;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A logger that keeps entries for assertions. */
export function memoryLogger(): Logger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return { entries, log: (severity, message, fields = {}) => entries.push({ severity, message, fields }) };
}

/** Registers a fresh handler with the Functions Framework and returns its real Express server, as Cloud Functions serves it. */
export function serveHandler(options: HandlerOptions): Server {
  const name = `outboundEventHandler_${randomBytes(4).toString('hex')}`;
  http(name, createOutboundEventHandler(options));
  return getTestServer(name);
}
