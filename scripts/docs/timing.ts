import type { Config } from '../../src/config.js';
import type { DeployValues } from './deploy-files.js';
import { code, duration, seconds, table } from './format.js';
import type { Product } from './product.js';

/** Cloud Run sends SIGKILL this long after SIGTERM (a platform fact; SHUTDOWN_TIMEOUT_MS in src/config.ts is 2 s less). */
const CLOUD_RUN_SIGKILL_AFTER_MS = 10_000;

const ROUTER_URL = 'https://router.example/events';

/** The relay's settings as deployed: the code's defaults, with what the deploy step sets. */
export function deployedConfig(product: Product, deploy: DeployValues): Readonly<Config> {
  return product.parseConfig({ ROUTER_URL, ...deploy.numericEnv });
}

/**
 * The run's time bound, part by part as longestRunMs adds it up, against the function timeout and Scheduler's
 * attempt deadline. Throws when the parts no longer add up to longestRunMs, so the table cannot drift from it.
 */
export function timingTable(product: Product, deploy: DeployValues): string {
  const config = deployedConfig(product, deploy);
  const { firestoreTimeoutMs: firestore, runBudgetMs: budget, postTimeoutMs: post } = config;
  const parts: [string, number, string][] = [
    ['take the run lease, then deliver: no POST or page read starts after this', budget, '`RUN_BUDGET_MS`'],
    [
      'a last POST or page read, started just before the budget ran out',
      Math.max(post, firestore),
      'the longer of `POST_TIMEOUT_MS`, `FIRESTORE_TIMEOUT_MS`',
    ],
    ['the final flush of outcomes', firestore, '`FIRESTORE_TIMEOUT_MS`'],
    ['the audit and the lease release, side by side', firestore, '`FIRESTORE_TIMEOUT_MS`'],
  ];
  const longest = product.longestRunMs(config);
  const sum = parts.reduce((total, [, ms]) => total + ms, 0);
  if (sum !== longest)
    throw new Error(`scripts/docs/timing.ts: the parts add up to ${sum} ms, longestRunMs says ${longest} ms; describe its new terms`);
  const { functionTimeoutMs: timeout, attemptDeadlineMs: deadline } = deploy;
  const rows = [
    ...parts.map(([what, ms, from]) => [what, seconds(ms), from]),
    ['**the longest run** (`longestRunMs` in src/config.ts)', `**${seconds(longest)}**`, 'the sum above'],
    [
      'the function timeout (`--timeout` in cloudbuild.yaml)',
      seconds(timeout),
      longest < timeout ? 'longer than the longest run: holds' : '**shorter than the longest run**',
    ],
    [
      'Scheduler’s `attemptDeadline` (scheduler.yaml)',
      seconds(deadline),
      deadline >= timeout ? 'at least the function timeout: holds' : '**shorter than the function timeout**',
    ],
  ];
  return table(['Part of a run', 'Bound', 'From'], rows);
}

/** The lease and the shutdown: how soon a crashed or stopped run's shard is drained again, and SIGTERM's budget. */
export function leaseAndShutdownTable(product: Product, deploy: DeployValues): string {
  const config = deployedConfig(product, deploy);
  const share = postShareOfShutdown(product.files['src/core/relay.ts']);
  const handOver = handOverAfterMs(product.files['src/function/outbound-event-handler.ts'], config.shutdownTimeoutMs);
  const rows = [
    ['a run’s lease lasts, unless renewed', duration(config.leaseTtlMs), '3 × `FIRESTORE_TIMEOUT_MS`'],
    ['the run renews it every', duration(Math.floor(config.leaseTtlMs / 3)), 'a third of the lease'],
    [
      'a crashed run’s shard is free again after at most',
      duration(config.leaseTtlMs),
      'its lease expires; the next scheduled run takes it over',
    ],
    [
      'after SIGTERM, POSTs in flight may finish for',
      duration(config.shutdownTimeoutMs * share),
      `${share * 100} % of \`SHUTDOWN_TIMEOUT_MS\`, then they are cancelled`,
    ],
    [
      'after SIGTERM, the run has answered within',
      duration(config.shutdownTimeoutMs),
      '`SHUTDOWN_TIMEOUT_MS` (fixed, 2 s before Cloud Run’s SIGKILL): flush, audit and release share the rest',
    ],
    ['the process hands SIGTERM on (and exits) at the latest', duration(handOver), '`SHUTDOWN_TIMEOUT_MS` + a margin'],
    ['Cloud Run sends SIGKILL', duration(CLOUD_RUN_SIGKILL_AFTER_MS), 'after SIGTERM'],
  ];
  return table(['What', 'Time', 'From'], rows);
}

/** POST_SHARE_OF_SHUTDOWN in src/core/relay.ts (not exported: the run's own detail). */
function postShareOfShutdown(relaySource: string): number {
  const match = /const POST_SHARE_OF_SHUTDOWN = ([\d.]+);/.exec(relaySource);
  if (match === null) throw new Error('src/core/relay.ts no longer has POST_SHARE_OF_SHUTDOWN; update scripts/docs/timing.ts');
  return Number(match[1]);
}

/** The GracefulShutdown's wait in src/function/outbound-event-handler.ts: SHUTDOWN_TIMEOUT_MS plus a margin. */
function handOverAfterMs(handlerSource: string, shutdownTimeoutMs: number): number {
  const match = /new GracefulShutdown\(logger, processRuns\(\), shutdownTimeoutMs \+ ([\d_]+)\)/.exec(handlerSource);
  if (match === null)
    throw new Error('src/function/outbound-event-handler.ts: the GracefulShutdown wait changed; update scripts/docs/timing.ts');
  return shutdownTimeoutMs + Number((match[1] as string).replaceAll('_', ''));
}

/**
 * Backoff across runs: the wait after each failed attempt of one event, as backoffDelayMs draws it, with the
 * jitter's range and the shortest time from the first attempt; rows with the same wait are folded into one.
 */
export function redeliveryTable(product: Product): string {
  const config = product.parseConfig({ ROUTER_URL });
  const range = { minDelayMs: config.redeliveryMinDelayMs, maxDelayMs: config.redeliveryMaxDelayMs };
  const { low, high } = product.jitter;
  const rows: string[][] = [];
  let shortest = 0;
  let first = 1;
  for (let failures = 1; failures < config.maxAttempts; failures += 1) {
    const nominal = product.backoffDelayMs(failures, range, (1 - low) / (high - low));
    shortest += product.backoffDelayMs(failures, range, 0);
    const next = failures + 1 < config.maxAttempts ? product.backoffDelayMs(failures + 1, range, (1 - low) / (high - low)) : undefined;
    if (next === nominal) continue;
    const spread = `${duration(product.backoffDelayMs(failures, range, 0))} – ${duration(product.backoffDelayMs(failures, range, 1 - Number.EPSILON))}`;
    rows.push([first === failures ? String(failures) : `${first}–${failures}`, duration(nominal), spread, duration(shortest)]);
    first = failures + 1;
  }
  const span = product.shortestRedeliverySpanMs(config.maxAttempts, range);
  if (Math.abs(span - shortest) > config.maxAttempts) throw new Error(`shortestRedeliverySpanMs says ${span} ms, the table ${shortest} ms`);
  rows.push([String(config.maxAttempts), '—', '—', `dead letter: \`MAX_ATTEMPTS\` (${config.maxAttempts}) attempts were charged`]);
  return [
    table(['After failed attempt', 'Wait', 'With jitter', 'Earliest next attempt, from the first'], rows),
    '',
    `An event that keeps failing on its own is dead-lettered no sooner than ${duration(span)} after its first attempt ` +
      `(\`shortestRedeliverySpanMs\`, every jitter at its lowest: ${code(low)} × the wait).`,
  ].join('\n');
}

/** Retries within one run: the waits between the POSTs of one event before it is left to a later run. */
export function inRunRetriesTable(product: Product): string {
  const config = product.parseConfig({ ROUTER_URL });
  const range = { minDelayMs: config.retryMinDelayMs, maxDelayMs: config.retryMaxDelayMs };
  const { low, high } = product.jitter;
  const rows: string[][] = [];
  for (let posts = 1; posts <= config.postRetries; posts += 1) {
    const nominal = product.backoffDelayMs(posts, range, (1 - low) / (high - low));
    const spread = `${duration(product.backoffDelayMs(posts, range, 0))} – ${duration(product.backoffDelayMs(posts, range, 1 - Number.EPSILON))}`;
    rows.push([`${posts} → ${posts + 1}`, duration(nominal), spread]);
  }
  return table(['Between POSTs', 'Wait', 'With jitter (a longer `Retry-After` wins, up to `RETRY_MAX_DELAY_MS`)'], rows);
}
