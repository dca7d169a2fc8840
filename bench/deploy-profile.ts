import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** What cloudbuild.yaml deploys the function with: the figures are measured with the same NODE_OPTIONS. */
export interface DeployProfile {
  /** --memory, e.g. "256Mi". */
  readonly memory: string;
  /** --cpu, in vCPUs, e.g. 0.167. */
  readonly cpu: number;
  /** NODE_OPTIONS in deploy/function.yaml, the deployed environment; empty when it sets none. */
  readonly nodeOptions: string;
}

/** Reads the deploy step's --memory and --cpu from cloudbuild.yaml, NODE_OPTIONS from deploy/function.yaml, in `projectRoot`. */
export async function readDeployProfile(projectRoot: string): Promise<DeployProfile> {
  const text = await readFile(path.join(projectRoot, 'cloudbuild.yaml'), 'utf8');
  const memory = /^\s+--memory=(\S+) \\$/m.exec(text)?.[1];
  const cpu = /^\s+--cpu=(\S+) \\$/m.exec(text)?.[1];
  if (memory === undefined || cpu === undefined) throw new Error('cloudbuild.yaml: the deploy step sets no --memory or --cpu');
  const functionYaml = await readFile(path.join(projectRoot, 'deploy', 'function.yaml'), 'utf8');
  const nodeOptions = /^\s+NODE_OPTIONS:\s*(.*?)\s*$/m.exec(functionYaml)?.[1]?.replace(/^(['"])(.*)\1$/, '$2') ?? '';
  return { memory, cpu: Number(cpu), nodeOptions };
}
