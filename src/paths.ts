import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder (where package.json lives), wherever the process was started. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Machine-wide cache for derived files (resolved classpaths, remembered test engine). */
export const cacheDir = path.join(projectRoot, 'node_modules', '.cache', 'reconbanker');
