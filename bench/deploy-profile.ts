import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** What cloudbuild.yaml deploys the function with: the figures are measured with the same NODE_OPTIONS. */
export interface DeployProfile {
  /** --memory, e.g. "256Mi". */
  readonly memory: string;
  /** --cpu, in vCPUs, e.g. 0.167: the default deploy's (without push on commit) when the step reads it from a file. */
  readonly cpu: number;
  /** NODE_OPTIONS in deploy/function.yaml, the deployed environment; empty when it sets none. */
  readonly nodeOptions: string;
}

/** Reads the deploy step's --memory and --cpu from cloudbuild.yaml, NODE_OPTIONS from deploy/function.yaml, in `projectRoot`. */
export async function readDeployProfile(projectRoot: string): Promise<DeployProfile> {
  const text = await readFile(path.join(projectRoot, 'cloudbuild.yaml'), 'utf8');
  const memory = /^\s+--memory=(\S+) \\$/m.exec(text)?.[1];
  if (memory === undefined) throw new Error('cloudbuild.yaml: the deploy step sets no --memory');
  const functionYaml = await readFile(path.join(projectRoot, 'deploy', 'function.yaml'), 'utf8');
  const nodeOptions = /^\s+NODE_OPTIONS:\s*(.*?)\s*$/m.exec(functionYaml)?.[1]?.replace(/^(['"])(.*)\1$/, '$2') ?? '';
  return { memory, cpu: deployCpu(text), nodeOptions };
}

/**
 * The deploy step's --cpu in vCPUs, so the bench names the instance it models: a number as written, or, when it is
 * a shell variable (`--cpu="$cpu"` with `cpu="$(cat .deploy/cpu)"`), the value the config step writes to that file
 * without push on commit (`writeFileSync('.deploy/cpu', push ? '1' : '0.167')` → 0.167).
 */
export function deployCpu(cloudbuild: string): number {
  const raw = /^\s+--cpu=(\S+) \\$/m.exec(cloudbuild)?.[1]?.replace(/^"(.*)"$/, '$1');
  if (raw === undefined) throw new Error('cloudbuild.yaml: the deploy step sets no --cpu');
  const literal = Number(raw);
  if (raw !== '' && Number.isFinite(literal)) return literal;
  const variable = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(raw)?.[1];
  const file =
    variable === undefined ? undefined : new RegExp(`^\\s+${variable}="\\$\\(cat ([^)\\s]+)\\)"\\s*$`, 'm').exec(cloudbuild)?.[1];
  const written =
    file === undefined
      ? undefined
      : new RegExp(`writeFileSync\\('${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}', push \\? '[^']*' : '([^']*)'\\)`).exec(
          cloudbuild,
        )?.[1];
  const value = Number(written);
  if (written === undefined || written === '' || !Number.isFinite(value))
    throw new Error(`cloudbuild.yaml: --cpu=${raw} is neither a number nor a variable read from a file the config step writes`);
  return value;
}
