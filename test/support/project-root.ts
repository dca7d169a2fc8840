import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root, for specs that run its files (dist/, build/, cloudbuild.yaml) from any tier's depth. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
