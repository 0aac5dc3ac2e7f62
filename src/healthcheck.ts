import { ConfigError, loadConfig, readEnvironment } from './config.js';
import { checkReadiness } from './health.js';

/**
 * The container's health check (Dockerfile HEALTHCHECK): exit 0 when the service on this host
 * is ready, 1 otherwise, with one line saying why. Kept apart from main.ts so that each probe
 * loads only the configuration, not every chat library.
 *
 * Without an argument it reads the readiness file every process role writes. With a URL
 * (`healthcheck http://127.0.0.1:3000/ready`, for processes with the api role) it asks the
 * HTTP API's readiness endpoint instead: ready only on a 200 within 5 seconds.
 */
export async function healthcheck(url?: string): Promise<number> {
  if (url) return probeUrl(url);
  try {
    const result = checkReadiness(loadConfig(readEnvironment()).dataDir);
    process.stdout.write(`${result.ok ? 'healthy' : 'unhealthy'}: ${result.reason}\n`);
    return result.ok ? 0 : 1;
  } catch (error) {
    process.stdout.write(`unhealthy: ${error instanceof ConfigError ? error.problems.join('; ') : String(error)}\n`);
    return 1;
  }
}

async function probeUrl(url: string): Promise<number> {
  if (!/^https?:\/\//.test(url)) {
    process.stdout.write(`unhealthy: "${url}" is not an http(s) URL\n`);
    return 1;
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000), headers: { accept: 'application/json' } });
    const body = (await response.text()).slice(0, 500);
    process.stdout.write(`${response.status === 200 ? 'healthy' : 'unhealthy'}: ${url} answered ${response.status} ${body}\n`);
    return response.status === 200 ? 0 : 1;
  } catch (error) {
    process.stdout.write(`unhealthy: ${url} did not answer (${error instanceof Error ? error.message : String(error)})\n`);
    return 1;
  }
}

if (process.argv[1] && /healthcheck\.[jt]s$/.test(process.argv[1])) void healthcheck(process.argv[2]).then((code) => process.exit(code));
