import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import type { Models } from '../store/models.js';
import type { UserService } from '../users/user-service.js';
import { createApiKeyService, type ApiKeyService } from './api-keys.js';
import { createLoginService, type LoginService } from './logins.js';
import { createRateLimiter, purgeRateLimits, type RateLimiter } from './rate-limits.js';

/** Who may use the HTTP API: logins (JWT), External API keys, and the limits that guard them. */
export type AccessServices = { logins: LoginService; apiKeys: ApiKeyService; limiter: RateLimiter; purgeLimits(): Promise<number> };

export function createAccessServices(deps: { models: Models; users: UserService; clock: Clock; log: Logger }): AccessServices {
  return {
    logins: createLoginService(deps),
    apiKeys: createApiKeyService(deps),
    limiter: createRateLimiter(deps),
    purgeLimits: () => purgeRateLimits(deps.models, deps.clock.now()),
  };
}
