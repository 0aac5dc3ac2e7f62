import { spawn } from 'node:child_process';
import path from 'node:path';
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { cacheDir } from '../../src/paths.js';
import { connectDatabase } from '../../src/store/database.js';
import { startEmbeddedDatabase } from '../../src/store/embedded/index.js';
import { startTestApi } from '../helpers/http-api.js';
import { buildServices } from '../helpers/services.js';

/**
 * A third-party contract tester against the live API: schemathesis (PyPI) reads /openapi.json
 * and sends what the schema allows and what it does not, checking that no answer is a server
 * error and every answer (status, content type, headers, body) is one the schema documents.
 * Two runs: the dashboard API with a login token, the External API with a key. `PUT /me/password`
 * is left out of the run (it would log the tester itself out half-way).
 *
 *   pip install schemathesis && npm run test:contract   [-- --max-examples 50]
 *
 * Exits non-zero when schemathesis reports a failure.
 */
const extra = process.argv.slice(2);
const log = pino({ level: 'silent' });
const started = Date.now();
const embedded = await startEmbeddedDatabase({ engine: (process.env.EMBEDDED_DB_ENGINE as 'auto' | 'java' | 'memory-server' | undefined) ?? 'auto', port: 0, memoFile: path.join(cacheDir, 'test-engine.json'), cacheDir, log });
const database = await connectDatabase({ uri: process.env.MONGODB_URI ?? embedded.uri, dbName: `contract_${Date.now()}`, timeoutMs: 10_000, log });
const services = buildServices(database, { clock: systemClock });
const api = await startTestApi(database, services);
let failed = false;
try {
  const post = async (pathName: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${api.url}${pathName}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return (await response.json()) as Record<string, unknown>;
  };
  await post('/auth/register', { email: 'contract@example.com', password: 'contract password 1', name: 'Contract' });
  const token = (await post('/auth/login', { email: 'contract@example.com', password: 'contract password 1' })).token as string;
  const bearer = { authorization: `Bearer ${token}` };
  const account = (await post('/accounts', { bankId: 'sandbox', name: 'Contract UYU' }, bearer)).id as string;
  await post('/accounts', { bankId: 'statement', name: 'Contract files' }, bearer);
  const key = (await post('/me/api-keys', { name: 'contract', scopes: ['otp:write', 'status:read'], account_ids: null }, bearer)).key as string;
  console.log(`API at ${api.url} (engine ${embedded.engine}); account ${account}`);

  const schema = `${api.url}/openapi.json`;
  const common = ['--checks', 'not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance', '--request-timeout', '30', '--workers', '1', ...extra];
  const runs: [string, string[]][] = [
    ['dashboard API (Bearer token)', ['-H', `Authorization: Bearer ${token}`, '--exclude-path-regex', '^/v1/', '--exclude-path', '/me/password']],
    ['External API (API key)', ['-H', `x-api-key: ${key}`, '--include-path-regex', '^/v1/']],
  ];
  for (const [name, options] of runs) {
    console.log(`\n== schemathesis: ${name}`);
    // Not spawnSync: the API answers from this very process.
    const child = spawn('st', ['run', schema, ...common, ...options], { stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } });
    const status = await new Promise<number | null>((resolve) => {
      child.once('error', (error) => {
        console.error(`could not run schemathesis (${error.message}); install it with: pip install schemathesis`);
        resolve(null);
      });
      child.once('exit', (code) => resolve(code));
    });
    if (status !== 0) failed = true;
  }
} finally {
  await api.close();
  await database.connection.dropDatabase().catch(() => undefined);
  await database.close();
  await embedded.stop();
}
console.log(`\nschemathesis contract run ${failed ? 'FAILED' : 'passed'} in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(failed ? 1 : 0);
