import { z } from 'zod';
import { ConfigError } from '../errors.js';

/** An environment as parseConfig reads it: the process's, or a test's own. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * How a deployed function gets the variable, so deploy/function.yaml can be checked against the declaration:
 * `env` (deploy/function.yaml's env), `secret` (its Secret Manager mounts, never under env), `build` (each build
 * passes it: SHARD_INDEX from _SHARD_INDEX), `local` (local runs and tests only; a deploy refuses it).
 */
export type DeployedBy = 'env' | 'secret' | 'build' | 'local';

/** One environment variable, declared once: what parseConfig reads, the README's table shows and the deploy accepts. */
export interface Setting<T> {
  readonly variable: string;
  /** One line for the configuration table: what the variable does. */
  readonly meaning: string;
  readonly deployedBy: DeployedBy;
  /** What the table says it accepts: a range for integers, words for the rest. */
  readonly accepts: string;
  /** The value when the variable is unset; undefined when it is required or simply absent. */
  readonly fallback: T | undefined;
  /** The default in words when it is not a fixed value (ROUTER_AUDIENCE: ROUTER_URL's origin). */
  readonly fallbackNote?: string;
  /** Unset, parseConfig refuses to start (in the environments that read it: ROUTER_HMAC_SECRET only with hmac). */
  readonly required: boolean;
  /** The value of this variable in `env`, or a ConfigError naming it. */
  read(env: Env): T;
}

/** A setting with a fixed default, which code may use as a constant (DEFAULT_BATCH_SIZE). */
export type SettingWithDefault<T> = Setting<T> & { readonly fallback: T };

interface Common {
  readonly meaning: string;
  /** `env` unless said otherwise. */
  readonly deployedBy?: DeployedBy;
}

/** The variable's text, trimmed; undefined when unset or blank. */
export function rawValue(env: Env, variable: string): string | undefined {
  const value = env[variable]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** An integer within [min, max]; `accepts` overrides the range the table shows when a bound depends on another variable. */
export function integer(
  variable: string,
  options: Common & { readonly fallback: number; readonly min: number; readonly max: number; readonly accepts?: string },
): SettingWithDefault<number> {
  const { fallback, min, max } = options;
  const schema = z.coerce.number().int().min(min).max(max);
  return {
    variable,
    meaning: options.meaning,
    deployedBy: options.deployedBy ?? 'env',
    accepts: options.accepts ?? `${min} – ${max}`,
    fallback,
    required: false,
    read(env) {
      const value = rawValue(env, variable);
      if (value === undefined) return fallback;
      const result = schema.safeParse(value);
      if (!result.success) throw new ConfigError(variable, `must be an integer from ${min} to ${max} (got "${value.slice(0, 40)}")`);
      return result.data;
    },
  };
}

/** An integer within [min, max] when set; unset, undefined (`fallbackNote` says what the code does then). */
export function optionalInteger(
  variable: string,
  options: Common & { readonly min: number; readonly max: number; readonly accepts?: string; readonly fallbackNote: string },
): Setting<number | undefined> {
  const setting = integer(variable, { ...options, fallback: 0 });
  return {
    ...setting,
    fallback: undefined,
    fallbackNote: options.fallbackNote,
    read: (env) => (rawValue(env, variable) === undefined ? undefined : setting.read(env)),
  };
}

interface TextOptions<T> extends Common {
  readonly schema: z.ZodType<T>;
  /** For the error: "must be <expected>". Text values are never echoed: a URL may carry credentials. */
  readonly expected: string;
  /** For the table. */
  readonly accepts: string;
  /** For the error when a required variable is unset, after "is required" (ROUTER_HMAC_SECRET: when ROUTER_AUTH=hmac). */
  readonly whenMissing?: string;
}

/** A text value checked by a schema, with a default. */
export function text<T extends string>(variable: string, options: TextOptions<T> & { readonly fallback: T }): SettingWithDefault<T> {
  return { ...textSetting(variable, options, options.fallback), fallback: options.fallback };
}

/** A text value checked by a schema, without which parseConfig refuses to start. */
export function requiredText<T extends string>(variable: string, options: TextOptions<T>): Setting<T> {
  return textSetting(variable, options, undefined);
}

/** A text value checked by a schema when set; unset, undefined (`fallbackNote` says what the code does then). */
export function optionalText<T extends string>(
  variable: string,
  options: TextOptions<T> & { readonly fallbackNote?: string },
): Setting<T | undefined> {
  const setting = textSetting<T>(variable, options, undefined);
  return {
    ...setting,
    required: false,
    ...(options.fallbackNote === undefined ? {} : { fallbackNote: options.fallbackNote }),
    read: (env) => (rawValue(env, variable) === undefined ? undefined : setting.read(env)),
  };
}

function textSetting<T extends string>(variable: string, options: TextOptions<T>, fallback: T | undefined): Setting<T> {
  return {
    variable,
    meaning: options.meaning,
    deployedBy: options.deployedBy ?? 'env',
    accepts: options.accepts,
    fallback,
    required: fallback === undefined,
    read(env) {
      const value = rawValue(env, variable);
      if (value === undefined) {
        if (fallback === undefined)
          throw new ConfigError(variable, `is required${options.whenMissing === undefined ? '' : ` ${options.whenMissing}`}`);
        return fallback;
      }
      const result = options.schema.safeParse(value);
      if (!result.success) throw new ConfigError(variable, `must be ${options.expected}`);
      return result.data;
    },
  };
}

/** One of a few words; the table lists them. */
export function choice<const T extends readonly [string, ...string[]]>(
  variable: string,
  options: Common & { readonly values: T; readonly fallback: T[number] },
): SettingWithDefault<T[number]> {
  const words = options.values.join(', ');
  return text(variable, {
    meaning: options.meaning,
    ...(options.deployedBy === undefined ? {} : { deployedBy: options.deployedBy }),
    schema: z.enum(options.values),
    expected: options.values.length === 2 ? `${options.values[0]} or ${options.values[1]}` : `one of ${words}`,
    accepts: options.values.map((value) => `\`${value}\``).join(', '),
    fallback: options.fallback,
  });
}

/** The value each setting of a table reads. */
export type SettingValues<S extends Readonly<Record<string, Setting<unknown>>>> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

/** Reads every setting of a table from one environment; each error names its variable. */
export function readSettings<S extends Readonly<Record<string, Setting<unknown>>>>(settings: S, env: Env): SettingValues<S> {
  return Object.fromEntries(Object.entries(settings).map(([key, setting]) => [key, setting.read(env)])) as SettingValues<S>;
}
