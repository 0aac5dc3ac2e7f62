/**
 * Statuses of a conciliation request (SPEC §1). Open ones may still change by matching;
 * `matched`, `cancelled`, `expired` and `failed` are settled (an expired or cancelled order
 * can be registered again when it reappears).
 */
export const REQUEST_STATUSES = ['pending', 'processing', 'matched', 'ambiguous', 'not_found', 'expired', 'cancelled', 'failed'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export const OPEN_STATUSES: readonly RequestStatus[] = ['pending', 'processing', 'ambiguous', 'not_found'];
const OPEN: ReadonlySet<RequestStatus> = new Set(OPEN_STATUSES);

export function isOpen(status: RequestStatus): boolean {
  return OPEN.has(status);
}

/** Open and not being evaluated right now. */
export const WAITING_STATUSES: readonly RequestStatus[] = ['pending', 'ambiguous', 'not_found'];

/** How long a request waits for its payment before it expires (SPEC §4, fixed). */
export const EXPIRY_MS = 5 * 24 * 60 * 60 * 1000;
