/** Roles of a person acting for a user (tenant), weakest first. */
export const ROLES = ['viewer', 'operator', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export function hasRole(actual: Role, required: Role): boolean {
  return ROLES.indexOf(actual) >= ROLES.indexOf(required);
}

/** A person may hand out roles up to their own (an admin cannot mint owners). */
export function canGrant(actual: Role, granted: Role): boolean {
  return hasRole(actual, 'admin') && hasRole(actual, granted);
}
