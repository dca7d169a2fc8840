import { isMap, isScalar, parse, parseDocument } from 'yaml';
import { code, table } from './format.js';

/** What the docs read from the deploy files: the deploy step's timeout, the deployed variables, Scheduler's deadline. */
export interface DeployValues {
  /** `gcloud functions deploy --timeout` in cloudbuild.yaml's deploy step. */
  readonly functionTimeoutMs: number;
  /** Variables deploy/function.yaml sets to a plain number (they override the code's defaults in the tables). */
  readonly numericEnv: Readonly<Record<string, string>>;
  /** scheduler.yaml's attemptDeadline. */
  readonly attemptDeadlineMs: number;
}

interface Step {
  readonly id: string;
  readonly script: string;
}

/** Reads the deploy timeout from cloudbuild.yaml, the deployed numbers from deploy/function.yaml, the deadline from scheduler.yaml. */
export function deployValues(cloudbuildYaml: string, schedulerYaml: string, functionYaml: string): DeployValues {
  const build = parse(cloudbuildYaml) as { steps: Step[] };
  const deploy = build.steps.find((step) => step.id === 'deploy');
  if (deploy === undefined) throw new Error('cloudbuild.yaml has no deploy step');
  const timeout = /--timeout=(\d+)s\b/.exec(deploy.script);
  if (timeout === null) throw new Error('cloudbuild.yaml: the deploy step has no --timeout=<seconds>s');
  const env = (parse(functionYaml) as { env?: Record<string, unknown> } | null)?.env ?? {};
  const numericEnv: Record<string, string> = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && /^\d+$/.test(entry[1])),
  );
  const job = parse(schedulerYaml) as { attemptDeadline?: string };
  const deadline = /^(\d+)s$/.exec(job.attemptDeadline ?? '');
  if (deadline === null) throw new Error('scheduler.yaml: attemptDeadline must be whole seconds, like "330s"');
  return { functionTimeoutMs: Number(timeout[1]) * 1000, numericEnv, attemptDeadlineMs: Number(deadline[1]) * 1000 };
}

/**
 * cloudbuild.yaml's substitutions with their defaults and the comment above each; a substitution without a
 * comment of its own shares the row of the one before it (`_RELAY_SA` / `_SCHEDULER_SA`).
 */
export function substitutionsTable(cloudbuildYaml: string): string {
  const substitutions = parseDocument(cloudbuildYaml).get('substitutions', true);
  if (!isMap(substitutions)) throw new Error('cloudbuild.yaml has no substitutions map');
  const rows: { names: string[]; defaults: string[]; meaning: string }[] = [];
  substitutions.items.forEach((pair, index) => {
    if (!isScalar(pair.key) || !isScalar(pair.value)) throw new Error('cloudbuild.yaml: substitutions must be plain key: value pairs');
    const name = String(pair.key.value);
    const value = String(pair.value.value);
    const comment = pair.key.commentBefore ?? (index === 0 ? substitutions.commentBefore : undefined);
    const shown = value === '' ? '(empty)' : code(value);
    const last = rows.at(-1);
    if (comment === undefined || comment === null) {
      if (last === undefined) throw new Error(`cloudbuild.yaml: say above ${name} what it is`);
      last.names.push(code(name));
      last.defaults.push(shown);
    } else {
      rows.push({ names: [code(name)], defaults: [shown], meaning: oneLine(comment) });
    }
  });
  return table(
    ['Substitution', 'Default', 'Meaning'],
    rows.map((row) => [row.names.join(' / '), row.defaults.join(' / '), row.meaning]),
  );
}

/** A YAML comment as one line of Markdown: `--flag` and `_NAME` words become code. */
function oneLine(comment: string): string {
  return comment
    .split('\n')
    .map((line) => line.trim())
    .join(' ')
    .replace(/(^|[\s(])((?:--|_)[A-Za-z][\w-]*)/g, (_, before: string, word: string) => `${before}${code(word)}`);
}
