/**
 * Process roles (SPEC §6, ARCHITECTURE "Scale-out"): one process runs every role by default;
 * a deployment can run them apart on one MongoDB.
 * - `chat`: the chat gateways (Telegram polling or webhook, the Slack endpoint or socket, the
 *   Discord gateway, the console). Run it in one process.
 * - `worker`: the job scheduler's processing (scheduled and queued scrapes, polls, sweeps,
 *   housekeeping), persistent sessions, webhook and notification delivery, the sandbox bank.
 * - `api`: the HTTP server (REST API, /v1, realtime socket, health and metrics).
 * Every process can still queue jobs and send chat messages (a worker's OTP prompt goes out
 * through the platform's API without holding its gateway).
 */
export const PROCESS_ROLES = ['chat', 'worker', 'api'] as const;
export type ProcessRole = (typeof PROCESS_ROLES)[number];
export type ProcessRoles = Readonly<Record<ProcessRole, boolean>>;

export const ALL_ROLES: ProcessRoles = { chat: true, worker: true, api: true };

/** `chat,worker,api` (any order, any subset, at least one; `all` for every role) → the roles, or a sentence saying what is wrong. */
export function parseProcessRoles(raw: string): { roles: ProcessRoles } | { problem: string } {
  const words = raw
    .split(',')
    .map((w) => w.trim().toLowerCase())
    .filter(Boolean);
  if (words.length === 0 || (words.length === 1 && words[0] === 'all')) return { roles: ALL_ROLES };
  const roles: Record<ProcessRole, boolean> = { chat: false, worker: false, api: false };
  for (const word of words) {
    if (!(PROCESS_ROLES as readonly string[]).includes(word)) return { problem: `"${word}" is not a role (use chat, worker and/or api, comma separated, or all)` };
    roles[word as ProcessRole] = true;
  }
  return { roles };
}

/** `chat,worker` — for logs. */
export function describeRoles(roles: ProcessRoles): string {
  return PROCESS_ROLES.filter((role) => roles[role]).join(',');
}
