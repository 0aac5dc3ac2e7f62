import { createAccountService, type AccountService } from './accounts/account-service.js';
import type { BankRegistry } from './banks/registry.js';
import type { Clock } from './domain/clock.js';
import type { Logger } from './log.js';
import type { Models } from './store/models.js';
import type { SecretBox } from './store/secret-box.js';
import { createUserService, type UserService } from './users/user-service.js';

/** The core services commands (and later the HTTP API) call. */
export type Services = {
  users: UserService;
  accounts: AccountService;
  banks: BankRegistry;
  clock: Clock;
};

export function createServices(deps: { models: Models; secrets: SecretBox; banks: BankRegistry; clock: Clock; log: Logger; inviteTtlHours: number }): Services {
  return {
    users: createUserService({ models: deps.models, clock: deps.clock, inviteTtlHours: deps.inviteTtlHours }),
    accounts: createAccountService(deps),
    banks: deps.banks,
    clock: deps.clock,
  };
}
