import type { AccessServices } from '../access/index.js';
import type { ChatActions } from '../chat/actions.js';
import type { InboundLedger } from '../chat/inbound.js';
import type { Logger } from '../log.js';
import type { UserService } from '../users/user-service.js';
import type { JobSpec } from './scheduler.js';

export function housekeepingJob(deps: { users: UserService; actions: ChatActions; inbound: InboundLedger; access?: AccessServices; log: Logger }): JobSpec {
  return {
    name: 'housekeeping',
    every: '1 hour',
    async run() {
      const purged = await deps.users.purgeInvites();
      if (purged > 0) deps.log.info({ purged }, 'old invite codes removed');
      const buttons = await deps.actions.purgeExpired();
      if (buttons > 0) deps.log.info({ buttons }, 'expired buttons removed');
      const events = await deps.inbound.purge();
      if (events > 0) deps.log.info({ events }, 'old inbound event ids removed');
      if (deps.access) {
        const windows = await deps.access.purgeLimits();
        const codes = await deps.access.logins.purge();
        if (windows + codes > 0) deps.log.info({ windows, codes }, 'ended rate-limit windows and used link codes removed');
      }
    },
  };
}
