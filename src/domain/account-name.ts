import { z } from 'zod';

/** Account names are shown in chat and typed in commands: short, printable, unique per user (case-insensitively). */
export const accountNameSchema = z
  .string({ error: 'name is required' })
  .trim()
  .min(1, 'name is required')
  .max(64, 'name must be at most 64 characters')
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u, 'name may use letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit');

/** The key names are compared by: case and inner spacing do not make two names different. */
export function accountNameKey(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLocaleLowerCase('en');
}
