import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** What cloudbuild.yaml deploys the function with: the figures are measured with the same NODE_OPTIONS. */
export interface DeployProfile {
  /** --memory, e.g. "256Mi". */
  readonly memory: string;
  /** --cpu, in vCPUs, e.g. 0.167. */
  readonly cpu: number;
  /** NODE_OPTIONS in the deploy's --set-env-vars; empty when it sets none. */
  readonly nodeOptions: string;
}

/** Reads the deploy step's --memory, --cpu and NODE_OPTIONS from cloudbuild.yaml in `projectRoot`. */
export async function readDeployProfile(projectRoot: string): Promise<DeployProfile> {
  const text = await readFile(path.join(projectRoot, 'cloudbuild.yaml'), 'utf8');
  const memory = /^\s+--memory=(\S+) \\$/m.exec(text)?.[1];
  const cpu = /^\s+--cpu=(\S+) \\$/m.exec(text)?.[1];
  if (memory === undefined || cpu === undefined) throw new Error('cloudbuild.yaml: the deploy step sets no --memory or --cpu');
  const nodeOptions = /NODE_OPTIONS=([^,"]*)/.exec(text)?.[1]?.trim() ?? '';
  return { memory, cpu: Number(cpu), nodeOptions };
}
