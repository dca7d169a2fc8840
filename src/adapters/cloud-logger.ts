import type { Logger, Severity } from '../core/ports.js';

const RANK: Readonly<Record<Severity, number>> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 };

/**
 * One JSON object per line on stdout: Cloud Logging reads `severity` and `message` from it, and keeps
 * the other fields as the entry's jsonPayload, searchable by runId or eventId.
 */
export function createCloudLogger(options: { readonly minSeverity?: Severity; readonly write?: (line: string) => void } = {}): Logger {
  const min = RANK[options.minSeverity ?? 'INFO'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  return {
    log(severity, message, fields = {}) {
      if (RANK[severity] < min) return;
      write(JSON.stringify({ ...fields, severity, message, time: new Date().toISOString() }));
    },
  };
}
