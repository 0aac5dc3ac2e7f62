import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { projectRoot } from '../../src/paths.js';
import { freshDatabaseUri } from '../helpers/database.js';
import { startServiceProcess } from '../helpers/service-process.js';

const run = promisify(execFile);
const KEY = `k1:${Buffer.alloc(32, 5).toString('base64')}`;
const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string>; engines: { node: string }; scripts: Record<string, string> };

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const file = path.join(dir, entry);
    return statSync(file).isDirectory() ? jsFiles(file) : file.endsWith('.js') ? [file] : [];
  });
}

/** The package a bare import names (`@scope/name/sub` → `@scope/name`). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

describe('production runtime: compiled JavaScript run by node alone', function () {
  // A TypeScript build and whole processes on a loaded 2-core machine; every wait has its own deadline.
  this.timeout(300_000);
  const dist = path.join(projectRoot, 'dist');

  before(async () => {
    await run('npm', ['run', 'build'], { cwd: projectRoot, timeout: 280_000 });
  });

  it('npm run build emits dist/src/main.js, and its static imports need no development package', () => {
    expect(existsSync(path.join(dist, 'src', 'main.js'))).to.equal(true);
    expect(pkg.scripts.build).to.equal('tsc -p tsconfig.build.json');
    for (const dev of ['tsx', 'pino-pretty', 'mongodb-memory-server-core']) {
      expect(pkg.dependencies, dev).not.to.have.property(dev);
      expect(pkg.devDependencies, dev).to.have.property(dev);
    }
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const needed = new Set<string>();
    for (const file of jsFiles(dist)) {
      const text = readFileSync(file, 'utf8');
      // Static imports only: the embedded engine's mongodb-memory-server is a dynamic import, on a path production refuses.
      for (const match of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)) {
        const specifier = (match[1] ?? match[2]) as string;
        if (!specifier.startsWith('.') && !builtins.has(specifier)) needed.add(packageOf(specifier));
      }
    }
    expect(needed.size).to.be.greaterThan(5);
    for (const name of needed) expect(pkg.dependencies, `dist imports ${name}`).to.have.property(name);
  });

  it('engines names the current LTS lines and still this machine\'s Node 20', () => {
    expect(pkg.engines.node).to.match(/\^24\./);
    const [major] = process.versions.node.split('.');
    expect(pkg.engines.node).to.include(`^${major}.`);
    const dockerfile = readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).to.match(/^FROM node:24-bookworm-slim AS build$/m);
    expect(dockerfile).to.match(/^CMD \["node", "dist\/src\/main\.js", "start"\]$/m);
    expect(dockerfile).to.match(/^HEALTHCHECK .*CMD \["node", "dist\/src\/healthcheck\.js"\]$/m);
    expect(dockerfile).to.match(/npm ci --omit=dev/);
    expect(dockerfile).not.to.match(/--import", "tsx|\.ts"/);
  });

  it('production refuses the embedded database before starting anything', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'rb-prod-embedded-'));
    const service = startServiceProcess({ NODE_ENV: 'production', SECRET_KEYS: KEY, DATA_DIR: dataDir, CHAT_CONSOLE: 'off' }, ['start'], { compiled: true, cwd: dataDir });
    const { code } = await service.exited;
    expect(code).to.equal(1);
    expect(service.stderr()).to.include('MONGODB_URI: required in production (the embedded database is for trying out and tests only)');
    expect(existsSync(path.join(dataDir, 'embedded-engine.json')), 'no embedded engine was started').to.equal(false);
  });

  it('runs against MongoDB; the health check says ready while it runs and unhealthy once it stopped', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'rb-prod-'));
    const env = { NODE_ENV: 'production', SECRET_KEYS: KEY, DATA_DIR: dataDir, CHAT_CONSOLE: 'off', MONGODB_URI: freshDatabaseUri('prod') };
    const check = async () => {
      const result = await run(process.execPath, [path.join(dist, 'src', 'healthcheck.js')], { cwd: dataDir, env: { PATH: process.env.PATH ?? '', ...env } }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
      return result;
    };
    expect((await check()).stdout).to.match(/^unhealthy: no readiness file/);
    const service = startServiceProcess(env, ['start'], { compiled: true, cwd: dataDir });
    try {
      await service.waitForLog(/Reconbanker is ready/, 120_000);
      await service.waitForLog(/readiness changed/, 30_000);
      const healthy = await check();
      expect(healthy, healthy.stdout).to.deep.include({ code: 0 });
      expect(healthy.stdout).to.match(/^healthy: ready/);
      // The same through the main command line.
      const viaMain = await run(process.execPath, [path.join(dist, 'src', 'main.js'), 'healthcheck'], { cwd: dataDir, env: { PATH: process.env.PATH ?? '', ...env } });
      expect(viaMain.stdout).to.match(/^healthy: ready/);
    } finally {
      service.child.kill('SIGTERM');
    }
    expect((await service.exited).code).to.equal(0);
    const after = await check();
    expect(after.code).to.equal(1);
    expect(after.stdout).to.match(/^unhealthy: /);
  });
});
