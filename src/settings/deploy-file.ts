import type { DeployedBy, Setting } from './declare.js';
import { REMOVED_SETTINGS } from './removed.js';
import { PASSED_THROUGH, SETTINGS } from './settings.js';

const VARIABLE_NAME = /^[A-Z][A-Z0-9_]*$/;
/** Secret Manager references as --set-secrets takes them: SECRET:VERSION, the version a number or `latest`. */
const SECRET_REFERENCE = /^[A-Za-z0-9_-]+:(latest|[1-9][0-9]*)$/;

const declared = new Map<string, Setting<unknown>>(Object.values(SETTINGS).map((setting) => [setting.variable, setting]));

/** Why a declared variable may not appear under deploy/function.yaml's `env`, by how the deploy sets it. */
const NOT_UNDER_ENV: Readonly<Record<Exclude<DeployedBy, 'env'>, string>> = {
  secret: 'is a secret: mount it under secrets (VARIABLE: SECRET:VERSION), never as plain text under env',
  build: 'differs per shard; each build takes it from _SHARD_INDEX',
  local: 'is for local runs and tests only; a deployed function must not set it',
};

/**
 * What is wrong with deploy/function.yaml, checked against the settings' declarations (src/settings/settings.ts):
 * only `env` and `secrets`; under `env` only declared variables the deploy sets there (as text) or the
 * variables passed through to Node and OpenTelemetry, so a misspelt or removed variable fails the build instead
 * of being deployed and silently ignored; under `secrets` only variables declared as secrets. Empty when it is
 * sound; the build then runs parseConfig on the result.
 */
export function deployFileProblems(file: unknown): string[] {
  if (file === null || file === undefined) return [];
  if (typeof file !== 'object' || Array.isArray(file)) return ['must be a map with env and secrets'];
  const problems: string[] = [];
  const { env = {}, secrets = {}, ...others } = file as { env?: unknown; secrets?: unknown };
  const unknownKeys = Object.keys(others);
  if (unknownKeys.length > 0) problems.push(`sets ${unknownKeys.join(', ')}; it holds only env and secrets`);
  const envMap = asMap(env ?? {}, 'env', problems);
  const secretMap = asMap(secrets ?? {}, 'secrets', problems);
  for (const [name, value] of Object.entries(envMap)) {
    const problem = envVariableProblem(name, value);
    if (problem !== undefined) problems.push(`env: ${name} ${problem}`);
  }
  for (const [name, reference] of Object.entries(secretMap)) {
    if (name in envMap) problems.push(`${name} is under both env and secrets`);
    else if (declared.get(name)?.deployedBy !== 'secret')
      problems.push(`secrets: ${name} is not a secret the relay reads (${secretNames()})`);
    else if (typeof reference !== 'string' || !SECRET_REFERENCE.test(reference)) problems.push(`secrets: ${name} must be SECRET:VERSION`);
  }
  return problems;
}

function envVariableProblem(name: string, value: unknown): string | undefined {
  if (!VARIABLE_NAME.test(name)) return 'is not a variable name';
  const removed = REMOVED_SETTINGS.find((entry) => entry.variable === name);
  if (removed !== undefined) return `is no longer read: ${removed.replacedBy}`;
  const setting = declared.get(name);
  if (setting !== undefined && setting.deployedBy !== 'env') return NOT_UNDER_ENV[setting.deployedBy];
  if (setting === undefined && !PASSED_THROUGH.some((passed) => passed.pattern.test(name))) {
    return `is not a setting of the relay (README.md, Configuration) nor one passed through (${PASSED_THROUGH.map((p) => p.name).join(', ')}): misspelt?`;
  }
  if (typeof value !== 'string') return `must be text (quote it: ${name}: '${String(value)}')`;
  return undefined;
}

function asMap(value: unknown, key: string, problems: string[]): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  problems.push(`${key} must be a map of VARIABLE: value`);
  return {};
}

function secretNames(): string {
  return Object.values(SETTINGS)
    .filter((setting) => setting.deployedBy === 'secret')
    .map((setting) => setting.variable)
    .join(', ');
}
