import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository's root folder (where package.json lives), wherever the process was started:
 * found upwards from this module, which is src/paths.ts under tsx and dist/src/paths.js compiled.
 */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..');
  }
}

export const projectRoot = findRoot(path.dirname(fileURLToPath(import.meta.url)));

/** Machine-wide cache for derived files (resolved classpaths, remembered test engine). */
export const cacheDir = path.join(projectRoot, 'node_modules', '.cache', 'reconbanker');
