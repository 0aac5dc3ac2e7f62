import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../src/paths.js';
import { report } from './lib/report.js';

/**
 * Time from `npm start` to a ready console with no environment, on a fresh data folder (first
 * run: engine detection, key generation) and again on the same folder (second run).
 */
function timeToPrompt(dataDir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('npm', ['start', '--silent'], { cwd: projectRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, CHAT_CONSOLE: 'on' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('no console prompt within 120 s')), 120_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('recon> ')) {
        const elapsed = performance.now() - started;
        clearTimeout(timer);
        child.stdin.end('exit\n');
        child.once('exit', () => resolve(elapsed));
      }
    });
    child.once('exit', (code) => {
      if (!out.includes('recon> ')) {
        clearTimeout(timer);
        reject(new Error(`service exited with ${code} before its prompt`));
      }
    });
  });
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'rb-bench-start-'));
try {
  report('npm start → ready console, first run (fresh data folder)', (await timeToPrompt(dataDir)) / 1000, 's');
  report('npm start → ready console, second run', (await timeToPrompt(dataDir)) / 1000, 's');
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
