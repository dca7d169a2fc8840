/**
 * The monthly bill of one delivery mode at one steady rate, from what the push benchmark measured over a few
 * minutes (bench/push-scenario.ts): requests, instance time and Firestore operations scaled to a 30-day month, at
 * the list prices below. Prices change: they are constants here, named in the docs table, so a reader can redo it.
 */

/** Seconds in the 30-day month the figures are scaled to. */
export const SECONDS_PER_MONTH = 30 * 86_400;

/** List prices in USD (Cloud Run functions, request-based billing, tier-1 region; Firestore Standard, regional). */
export const PRICES = {
  perMillionRequests: 0.4,
  perVcpuSecond: 0.000024,
  perGibSecond: 0.0000025,
  perHundredThousandReads: 0.03,
  perHundredThousandWrites: 0.09,
} as const;

/** The instance a mode is deployed on (cloudbuild.yaml): push needs one vCPU to take concurrent kicks. */
export interface InstanceShape {
  readonly vcpu: number;
  readonly memoryGib: number;
}

/** What one measured cell saw, over `seconds` of measurement. */
export interface MeasuredUse {
  readonly seconds: number;
  /** HTTP requests the function served: Scheduler runs and kicks. */
  readonly requests: number;
  /** Seconds during which at least one request was in flight (what request-based billing charges). */
  readonly busySeconds: number;
  readonly firestoreReads: number;
  readonly firestoreWrites: number;
}

/** A mode's month at the measured rate. */
export interface MonthlyCost {
  readonly requestsPerMonth: number;
  readonly instanceSecondsPerMonth: number;
  readonly firestoreReadsPerMonth: number;
  readonly firestoreWritesPerMonth: number;
  readonly requestUsd: number;
  readonly instanceUsd: number;
  readonly firestoreUsd: number;
  readonly totalUsd: number;
}

/** Scales one measurement to a month and prices it; free tiers are left out, so modes compare on equal terms. */
export function monthlyCost(use: MeasuredUse, shape: InstanceShape): MonthlyCost {
  if (!(use.seconds > 0)) throw new RangeError('a measurement of no time cannot be scaled to a month');
  const scale = SECONDS_PER_MONTH / use.seconds;
  const requestsPerMonth = use.requests * scale;
  const instanceSecondsPerMonth = use.busySeconds * scale;
  const firestoreReadsPerMonth = use.firestoreReads * scale;
  const firestoreWritesPerMonth = use.firestoreWrites * scale;
  const requestUsd = (requestsPerMonth / 1e6) * PRICES.perMillionRequests;
  const instanceUsd = instanceSecondsPerMonth * (shape.vcpu * PRICES.perVcpuSecond + shape.memoryGib * PRICES.perGibSecond);
  const firestoreUsd =
    (firestoreReadsPerMonth / 1e5) * PRICES.perHundredThousandReads + (firestoreWritesPerMonth / 1e5) * PRICES.perHundredThousandWrites;
  return {
    requestsPerMonth,
    instanceSecondsPerMonth,
    firestoreReadsPerMonth,
    firestoreWritesPerMonth,
    requestUsd,
    instanceUsd,
    firestoreUsd,
    totalUsd: requestUsd + instanceUsd + firestoreUsd,
  };
}
