/**
 * A second API process on the same database (for limits that must hold across processes).
 * Usage: <mongodb uri> <loginAttemptsPerEmail>; prints "listening <url>" and serves until killed.
 */
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { connectDatabase } from '../../src/store/database.js';
import { buildServices } from './services.js';
import { startTestApi } from './http-api.js';

const [uri, perEmail] = process.argv.slice(2);
const database = await connectDatabase({ uri: uri as string, timeoutMs: 10_000, log: pino({ level: 'silent' }) });
const services = buildServices(database, { clock: systemClock });
const api = await startTestApi(database, services, { settings: { loginAttemptsPerEmail: Number(perEmail) } });
console.log(`listening ${api.url}`);
