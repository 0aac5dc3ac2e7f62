/**
 * Another process submitting a bank code: connects to the same database and calls the
 * assistance service, as the HTTP API or a second worker would. Usage: <uri> <accountId> <code>
 */
import { pino } from 'pino';
import { createAssistanceService } from '../../src/sessions/assistance.js';
import { systemClock } from '../../src/domain/clock.js';
import { connectDatabase } from '../../src/store/database.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { TEST_KEY } from './services.js';

const [uri, accountId, code] = process.argv.slice(2);
const log = pino({ level: 'silent' });
const database = await connectDatabase({ uri: uri as string, timeoutMs: 5_000, log });
try {
  const assistance = createAssistanceService({ models: database.models, secrets: createSecretBox([TEST_KEY]), clock: systemClock, log, announce: async () => undefined, timeoutMs: 1, maxRejectedCodes: 3 });
  await assistance.submit(accountId as string, code as string, 'other-process');
  console.log('submitted');
} finally {
  await database.close();
}
