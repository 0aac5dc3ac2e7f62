import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs every bench script in its own process, one at a time, pinned to one core where taskset
 * exists (SPEC §8: benches run on one core; child processes such as the database inherit it).
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const scripts = readdirSync(here)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .filter((file) => only.length === 0 || only.some((name) => file.includes(name)))
  .sort();
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
console.log(hasTaskset ? 'Pinned to CPU 0 (taskset).' : 'taskset not found: running unpinned.');
let failed = 0;
for (const script of scripts) {
  console.log(`\n== ${script}`);
  const command = [process.execPath, '--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', path.join(here, script)];
  const pinned = hasTaskset ? ['taskset', '-c', '0', ...command] : command;
  const result = spawnSync(pinned[0] as string, pinned.slice(1), { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed > 0 ? 1 : 0);
