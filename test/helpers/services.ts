import { pino } from 'pino';
import { createBankRegistry } from '../../src/banks/registry.js';
import { sandboxBankInfo } from '../../src/banks/sandbox/info.js';
import type { Clock } from '../../src/domain/clock.js';
import type { Logger } from '../../src/log.js';
import { createServices, type Services } from '../../src/services.js';
import type { Database } from '../../src/store/database.js';
import { createSecretBox, type SecretBox } from '../../src/store/secret-box.js';
import { manualClock } from './clock.js';

export const TEST_KEY = { id: 'test', key: Buffer.alloc(32, 42) };

/** The real services on a test database, with a controllable clock. */
export function buildServices(db: Database, options: { clock?: Clock; log?: Logger; secrets?: SecretBox } = {}): Services {
  return createServices({
    models: db.models,
    secrets: options.secrets ?? createSecretBox([TEST_KEY]),
    banks: createBankRegistry([sandboxBankInfo('http://127.0.0.1:4010/')]),
    clock: options.clock ?? manualClock(),
    log: options.log ?? pino({ level: 'silent' }),
    inviteTtlHours: 72,
  });
}
