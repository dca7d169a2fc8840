import type { Setting } from '../../src/settings/declare.js';
import { bytes, code, duration, table } from './format.js';
import type { Product } from './product.js';

/** How the deploy sets each kind of variable, as the table's Deploy column says it (deploy/function.yaml). */
const DEPLOYED_BY: Readonly<Record<Setting<unknown>['deployedBy'], string>> = {
  env: '`env`',
  secret: '`secrets`',
  build: '`_SHARD_INDEX`',
  local: 'no',
};

/** The default as the table shows it: with its unit for a person; `— (required)` when parseConfig refuses to start without it. */
function defaultCell(setting: Setting<unknown>): string {
  if (setting.fallbackNote !== undefined) return setting.fallbackNote;
  if (setting.required) return '— (required)';
  const value = setting.fallback;
  if (value === undefined) return '—';
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`${setting.variable}: a default of type ${typeof value}`);
  if (typeof value === 'number' && setting.variable.endsWith('_MS') && value > 0) return `${code(value)} (${duration(value)})`;
  if (typeof value === 'number' && setting.variable.endsWith('_BYTES')) return `${code(value)} (${bytes(value)})`;
  return code(value);
}

/**
 * The configuration table, written from the settings' one declaration (src/settings/settings.ts): every
 * variable, or only those named, with its default, what it accepts and what it means; with `deploy`, how the
 * deploy sets it.
 */
export function settingsTable(product: Product, options: { readonly only?: readonly string[]; readonly deploy?: boolean } = {}): string {
  const settings = Object.values(product.settings);
  const chosen =
    options.only === undefined
      ? settings
      : options.only.map((variable) => {
          const found = settings.find((setting) => setting.variable === variable);
          if (found === undefined) throw new Error(`no setting ${variable} in src/settings/settings.ts`);
          return found;
        });
  const header = ['Variable', 'Default', 'Accepts', 'Meaning', ...(options.deploy === true ? ['Deploy'] : [])];
  const rows = chosen.map((setting) => [
    code(setting.variable),
    defaultCell(setting),
    setting.accepts,
    setting.meaning,
    ...(options.deploy === true ? [DEPLOYED_BY[setting.deployedBy]] : []),
  ]);
  return table(header, rows);
}

/** The variables earlier versions read, with what replaced each (src/settings/removed.ts). */
export function removedSettingsTable(product: Product): string {
  return table(
    ['Removed variable', 'Now'],
    product.removedSettings.map((removed) => [code(removed.variable), asMarkdown(removed.replacedBy)]),
  );
}

/** An error's words as Markdown: variable names (`FIRESTORE_TIMEOUT_MS`), collection names and `_suffixes` as code. */
function asMarkdown(text: string): string {
  return text.replace(
    /(^|[\s(])([A-Z][A-Z0-9]*_[A-Z0-9_]+|[a-z]+(?:_[a-z]+)+|_[a-z]+(?:_[a-z]+)*)(?=[\s),;.:]|$)/g,
    (_, before: string, word: string) => `${before}${code(word)}`,
  );
}
