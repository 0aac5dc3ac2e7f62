import { z } from 'zod';

/** One per user, for all its accounts; `null` until chosen (transactions are stored, nothing sent). */
export const OPERATION_MODES = ['reconcile', 'passthrough'] as const;
export const operationModeSchema = z.enum(OPERATION_MODES, { error: 'mode must be reconcile or passthrough' });
export type OperationMode = z.infer<typeof operationModeSchema>;
