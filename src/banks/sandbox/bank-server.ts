import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback, type Listening } from '../../http/loopback.js';
import { z } from 'zod';
import { localDayIn, localMinuteIn, timeZoneProblem } from '../time-zone.js';
import { homePage, loginPage, movementsPage, otpPage, type MovementRow } from './pages.js';
import { appendTo } from '../../domain/collections.js';

/**
 * The sandbox bank: a real local web portal (login, optional 2FA, paginated movements,
 * session expiry, lockout, latency, a layout switch) plus a sandbox-only admin API to inject
 * users and movements and to read the current code "from the phone". State lives in memory;
 * `onChange` hands its users and movements to whoever keeps them (the service writes them to a
 * file, so a restart finds the same bank), and `importState` brings them back.
 */

export type SandboxConfig = {
  lockoutAfter: number;
  sessionIdleMs: number;
  latencyMs: number;
  layout: 'classic' | 'modern';
  pageSize: number;
  /** The bank shows local time in this IANA zone (Uruguay by default; another for daylight-saving tests). */
  timeZone: string;
  otpAttemptsPerLogin: number;
};

const movementInput = z.object({
  /** ISO 8601 instant when the money arrived. */
  at: z.iso.datetime({ offset: true }),
  /** Decimal string with a dot ("1500.00"), negative for debits. */
  amount: z.string().regex(/^-?\d+(\.\d{1,2})?$/),
  currency: z.string().regex(/^[A-Z]{3}$/).default('UYU'),
  sender: z.string().nullable().default(null),
  description: z.string().default('Transferencia recibida'),
  reference: z.string().nullable().default(null),
});
export type SandboxMovementInput = z.input<typeof movementInput>;
type Movement = z.output<typeof movementInput> & { id: string };

const userInput = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  name: z.string().default('Cliente Sandbox'),
  otp: z.object({ length: z.number().int().min(4).max(10).default(6), type: z.enum(['numeric', 'alphanumeric']).default('numeric') }).nullable().default(null),
});
export type SandboxUserInput = z.input<typeof userInput>;

/** What outlives the process: users and their movements (sessions, codes and lockouts do not). */
export const sandboxStateSchema = z
  .object({
    version: z.literal(1),
    users: z
      .array(userInput.extend({ movements: z.array(movementInput.extend({ id: z.string().min(1).max(100) })).max(1_000_000) }))
      .max(10_000),
  })
  .strict();
export type SandboxState = z.output<typeof sandboxStateSchema>;

type User = z.output<typeof userInput> & {
  failedLogins: number;
  locked: boolean;
  movements: Movement[];
  currentOtp: string | null;
  activeSessions: number;
  maxConcurrentSessions: number;
  logins: number;
};

type PageHook = { page: number; movements: SandboxMovementInput[]; remaining: number };

type Session = { id: string; username: string; stage: 'otp' | 'ok'; lastSeen: number; otpFailures: number; otpError: boolean; resent: boolean };

export type SandboxBank = {
  readonly url: string;
  readonly config: SandboxConfig;
  start(): Promise<void>;
  stop(): Promise<void>;
  addUser(input: SandboxUserInput): void;
  addMovements(username: string, movements: SandboxMovementInput[]): void;
  setConfig(patch: Partial<SandboxConfig>): void;
  currentOtp(username: string): string | null;
  expireSessions(username: string): void;
  stats(username: string): { logins: number; activeSessions: number; maxConcurrentSessions: number; locked: boolean; failedLogins: number };
  /**
   * Test hook: right after page `page` of the user's movements has been served, these
   * movements arrive (`times` serves in a row, default once), as a real bank's would while a
   * driver is between two pages.
   */
  injectAfterPage(username: string, hook: { page: number; movements: SandboxMovementInput[]; times?: number }): void;
  /** Its users and movements, as `onChange` receives them. */
  exportState(): SandboxState;
  /** Replaces its users and movements with a state exported before (does not call `onChange`). */
  importState(state: SandboxState): void;
};

const defaults: SandboxConfig = {
  lockoutAfter: 3,
  sessionIdleMs: 5 * 60_000,
  latencyMs: 0,
  layout: 'classic',
  pageSize: 25,
  timeZone: 'America/Montevideo',
  otpAttemptsPerLogin: 3,
};

function newCode(length: number, type: 'numeric' | 'alphanumeric'): string {
  const alphabet = type === 'numeric' ? '0123456789' : 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/** "26/11/2026 14:05" in the bank's local time. */
function localDateTime(iso: string, timeZone: string): string {
  const [day, time] = localMinuteIn(new Date(iso), timeZone).split('T') as [string, string];
  const [year, month, dayOfMonth] = day.split('-');
  return `${dayOfMonth}/${month}/${year} ${time}`;
}

function localDay(iso: string, timeZone: string): string {
  return localDayIn(new Date(iso), timeZone);
}

/** "1500.00" → "1.500,00", as the bank prints it. */
function localAmount(decimal: string): string {
  const [whole = '0', fraction = '00'] = decimal.replace('-', '').split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return `${decimal.startsWith('-') ? '-' : ''}${grouped},${fraction.padEnd(2, '0')}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createSandboxBank(options: { port?: number; config?: Partial<SandboxConfig>; onChange?: (state: SandboxState) => void } = {}): SandboxBank {
  const config: SandboxConfig = { ...defaults, ...options.config };
  const users = new Map<string, User>();
  const sessions = new Map<string, Session>();
  const pageHooks = new Map<string, PageHook[]>();
  let listening: Listening | undefined;
  let url = '';

  function newUser(input: z.output<typeof userInput>, movements: Movement[]): User {
    return { ...input, failedLogins: 0, locked: false, movements, currentOtp: null, activeSessions: 0, maxConcurrentSessions: 0, logins: 0 };
  }

  function userOf(username: string): User {
    const user = users.get(username);
    if (!user) throw new Error(`no sandbox user "${username}"`);
    return user;
  }

  function endSession(id: string) {
    const session = sessions.get(id);
    if (!session) return;
    sessions.delete(id);
    if (session.stage === 'ok') {
      const user = users.get(session.username);
      if (user) user.activeSessions = Math.max(0, user.activeSessions - 1);
    }
  }

  function sessionOf(req: IncomingMessage): Session | undefined {
    const sid = /(?:^|;\s*)sbx=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '')?.[1];
    const session = sid ? sessions.get(sid) : undefined;
    if (!session) return undefined;
    if (Date.now() - session.lastSeen > config.sessionIdleMs) {
      endSession(session.id);
      return undefined;
    }
    session.lastSeen = Date.now();
    return session;
  }

  function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(body);
  }

  function json(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}) {
    res.writeHead(303, { location, 'cache-control': 'no-store', ...headers });
    res.end();
  }

  function startOtp(session: Session) {
    const user = userOf(session.username);
    if (user.otp) user.currentOtp = newCode(user.otp.length, user.otp.type);
  }

  /** Movements that "arrive" once a given page has been served (the driver is between pages). */
  function runPageHooks(username: string, page: number) {
    const hooks = pageHooks.get(username) ?? [];
    for (const hook of hooks.filter((h) => h.page === page && h.remaining > 0)) {
      hook.remaining -= 1;
      bank.addMovements(username, hook.movements);
    }
    pageHooks.set(username, hooks.filter((h) => h.remaining > 0));
  }

  async function handlePortal(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) {
    if (req.method === 'GET' && (path === '/' || path === '/login')) {
      return send(res, 200, loginPage({ expired: query.get('expired') === '1' }));
    }
    if (req.method === 'POST' && path === '/login') {
      const form = new URLSearchParams(await readBody(req));
      const user = users.get(form.get('username') ?? '');
      if (user?.locked) return send(res, 200, loginPage({ error: 'locked' }));
      if (!user || user.password !== form.get('password')) {
        if (user) {
          user.failedLogins += 1;
          if (user.failedLogins >= config.lockoutAfter) user.locked = true;
        }
        return send(res, 200, loginPage({ error: user?.locked ? 'locked' : 'invalid' }));
      }
      user.failedLogins = 0;
      const session: Session = { id: randomBytes(18).toString('base64url'), username: user.username, stage: user.otp ? 'otp' : 'ok', lastSeen: Date.now(), otpFailures: 0, otpError: false, resent: false };
      sessions.set(session.id, session);
      const cookie = { 'set-cookie': `sbx=${session.id}; Path=/; HttpOnly; SameSite=Lax` };
      if (session.stage === 'otp') {
        startOtp(session);
        return redirect(res, '/otp', cookie);
      }
      user.logins += 1;
      user.activeSessions += 1;
      user.maxConcurrentSessions = Math.max(user.maxConcurrentSessions, user.activeSessions);
      return redirect(res, '/home', cookie);
    }

    const session = sessionOf(req);
    if (!session) return redirect(res, '/login?expired=1');
    const user = userOf(session.username);

    if (path === '/otp' || path === '/otp/resend') {
      if (session.stage !== 'otp' || !user.otp) return redirect(res, '/home');
      if (req.method === 'POST' && path === '/otp/resend') {
        startOtp(session);
        session.resent = true;
        session.otpError = false;
        return redirect(res, '/otp');
      }
      if (req.method === 'POST') {
        const code = new URLSearchParams(await readBody(req)).get('code') ?? '';
        if (user.currentOtp !== null && code.trim().toUpperCase() === user.currentOtp) {
          session.stage = 'ok';
          user.currentOtp = null;
          user.logins += 1;
          user.activeSessions += 1;
          user.maxConcurrentSessions = Math.max(user.maxConcurrentSessions, user.activeSessions);
          return redirect(res, '/home');
        }
        session.otpFailures += 1;
        if (session.otpFailures >= config.otpAttemptsPerLogin) {
          endSession(session.id);
          user.currentOtp = null;
          return send(res, 200, loginPage({ error: 'otp_locked' }));
        }
        session.otpError = true;
        session.resent = false;
        return redirect(res, '/otp');
      }
      const page = otpPage({ length: user.otp.length, type: user.otp.type, error: session.otpError, resent: session.resent });
      session.otpError = false;
      session.resent = false;
      return send(res, 200, page);
    }
    if (session.stage !== 'ok') return redirect(res, '/otp');

    if (req.method === 'GET' && path === '/home') return send(res, 200, homePage(user.name));
    if (req.method === 'POST' && path === '/logout') {
      endSession(session.id);
      return redirect(res, '/login', { 'set-cookie': 'sbx=; Path=/; Max-Age=0' });
    }
    if (req.method === 'GET' && path === '/movements') {
      const today = localDay(new Date().toISOString(), config.timeZone);
      const from = /^\d{4}-\d{2}-\d{2}$/.test(query.get('from') ?? '') ? (query.get('from') as string) : today;
      const to = /^\d{4}-\d{2}-\d{2}$/.test(query.get('to') ?? '') ? (query.get('to') as string) : today;
      const page = Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1);
      const inRange = user.movements
        .filter((m) => {
          const day = localDay(m.at, config.timeZone);
          return day >= from && day <= to;
        })
        // Newest first, by instant (`at` may carry any offset); the same instant keeps arrival order.
        .sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
      const rows: MovementRow[] = inRange.slice((page - 1) * config.pageSize, page * config.pageSize).map((m) => ({
        date: localDateTime(m.at, config.timeZone),
        description: m.description,
        sender: m.sender,
        reference: m.reference,
        amount: localAmount(m.amount),
        currency: m.currency,
      }));
      const hasNext = page * config.pageSize < inRange.length;
      const nextHref = hasNext ? `/movements?from=${from}&to=${to}&page=${page + 1}` : null;
      send(res, 200, movementsPage({ layout: config.layout, rows, nextHref, from, to, page }));
      runPageHooks(user.username, page);
      return;
    }
    return send(res, 404, '<p id="not-found">Página no encontrada</p>');
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string) {
    const userPath = /^\/sandbox\/users\/([^/]+)\/(movements|inject-after-page|otp|expire-sessions|stats)$/.exec(path);
    const body = req.method === 'POST' ? await readBody(req) : '';
    const parsedBody = body ? (JSON.parse(body) as unknown) : {};
    if (req.method === 'POST' && path === '/sandbox/users') {
      bank.addUser(parsedBody as SandboxUserInput);
      return json(res, 201, { ok: true });
    }
    if (req.method === 'POST' && path === '/sandbox/config') {
      bank.setConfig(parsedBody as Partial<SandboxConfig>);
      return json(res, 200, config);
    }
    if (userPath) {
      const username = decodeURIComponent(userPath[1] as string);
      if (!users.has(username)) return json(res, 404, { error: 'no such user' });
      switch (userPath[2]) {
        case 'movements':
          if (req.method !== 'POST') break;
          bank.addMovements(username, parsedBody as SandboxMovementInput[]);
          return json(res, 201, { ok: true });
        case 'inject-after-page':
          if (req.method !== 'POST') break;
          bank.injectAfterPage(username, parsedBody as { page: number; movements: SandboxMovementInput[]; times?: number });
          return json(res, 201, { ok: true });
        case 'otp':
          return json(res, 200, { code: bank.currentOtp(username) });
        case 'expire-sessions':
          bank.expireSessions(username);
          return json(res, 200, { ok: true });
        case 'stats':
          return json(res, 200, bank.stats(username));
      }
    }
    return json(res, 404, { error: 'unknown sandbox admin route' });
  }

  const bank: SandboxBank = {
    get url() {
      return url;
    },
    config,
    async start() {
      const server = createServer((req, res) => {
        const parsed = new URL(req.url ?? '/', 'http://sandbox');
        const work = async () => {
          if (config.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, config.latencyMs));
          if (parsed.pathname.startsWith('/sandbox/')) return handleAdmin(req, res, parsed.pathname);
          return handlePortal(req, res, parsed.pathname, parsed.searchParams);
        };
        work().catch((error: unknown) => {
          if (!res.headersSent) json(res, 400, { error: error instanceof Error ? error.message : 'bad request' });
          else res.end();
        });
      });
      listening = await listenOnLoopback(server, options.port ?? 0);
      url = listening.url;
    },
    async stop() {
      await listening?.close();
      listening = undefined;
    },
    addUser(input) {
      const parsed = userInput.parse(input);
      users.set(parsed.username, newUser(parsed, []));
      options.onChange?.(bank.exportState());
    },
    addMovements(username, movements) {
      const user = userOf(username);
      for (const movement of movements) user.movements.push({ ...movementInput.parse(movement), id: randomUUID() });
      options.onChange?.(bank.exportState());
    },
    exportState() {
      return { version: 1, users: [...users.values()].map(({ username, password, name, otp, movements }) => ({ username, password, name, otp, movements })) };
    },
    importState(state) {
      const parsed = sandboxStateSchema.parse(state);
      users.clear();
      for (const { movements, ...user } of parsed.users) users.set(user.username, newUser(user, movements));
    },
    setConfig(patch) {
      Object.assign(config, z.object({ lockoutAfter: z.number().int().positive(), sessionIdleMs: z.number().int().positive(), latencyMs: z.number().int().min(0), layout: z.enum(['classic', 'modern']), pageSize: z.number().int().positive(), timeZone: z.string().refine((zone) => timeZoneProblem(zone) === undefined, 'must be an IANA time zone'), otpAttemptsPerLogin: z.number().int().positive() }).partial().strict().parse(patch));
    },
    currentOtp(username) {
      return userOf(username).currentOtp;
    },
    expireSessions(username) {
      for (const session of [...sessions.values()]) if (session.username === username) endSession(session.id);
    },
    injectAfterPage(username, hook) {
      userOf(username);
      const parsed = z.object({ page: z.number().int().positive(), times: z.number().int().positive().default(1) }).parse({ page: hook.page, times: hook.times });
      for (const movement of hook.movements) movementInput.parse(movement);
      appendTo(pageHooks, username, { page: parsed.page, movements: hook.movements, remaining: parsed.times });
    },
    stats(username) {
      const user = userOf(username);
      return { logins: user.logins, activeSessions: user.activeSessions, maxConcurrentSessions: user.maxConcurrentSessions, locked: user.locked, failedLogins: user.failedLogins };
    },
  };
  return bank;
}
