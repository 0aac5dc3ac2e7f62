import { ConfigError, loadConfig, readEnvironment } from './config.js';
import { checkReadiness } from './health.js';

/**
 * The container's health check (Dockerfile HEALTHCHECK): exit 0 when the service on this host
 * is ready, 1 otherwise, with one line saying why. Kept apart from main.ts so that each probe
 * loads only the configuration, not every chat library.
 */
export function healthcheck(): number {
  try {
    const result = checkReadiness(loadConfig(readEnvironment()).dataDir);
    process.stdout.write(`${result.ok ? 'healthy' : 'unhealthy'}: ${result.reason}\n`);
    return result.ok ? 0 : 1;
  } catch (error) {
    process.stdout.write(`unhealthy: ${error instanceof ConfigError ? error.problems.join('; ') : String(error)}\n`);
    return 1;
  }
}

if (process.argv[1] && /healthcheck\.[jt]s$/.test(process.argv[1])) process.exit(healthcheck());
