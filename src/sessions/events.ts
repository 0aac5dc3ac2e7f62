import type { SessionFailureKind, SessionStage } from '../domain/session-outcome.js';

/** What sessions tell people about (rendered by src/notify). */
export type SessionAccount = { id: string; name: string; bank: string; userId: string };

export type SessionEvent =
  /** A run began: a one-shot session, or a persistent session logging in. Recorded on the realtime stream; chat says nothing. */
  | { type: 'started'; runId: string; kind: 'one-shot' | 'persistent'; trigger: 'schedule' | 'manual' | 'retry' | 'monitor'; account: SessionAccount }
  | { type: 'progress'; account: SessionAccount; text: string; ref?: string | undefined }
  | { type: 'finished'; account: SessionAccount; found: number; inserted: number; ref?: string | undefined }
  | {
      type: 'failed';
      /** The run that failed (names the event, so a repeat is recognised). */
      runId: string;
      account: SessionAccount;
      kind: SessionFailureKind;
      fatal: boolean;
      stage: SessionStage;
      sentence: string;
      screenshot: string | null;
      nextAttemptAt: Date | null;
      ref?: string | undefined;
    }
  | { type: 'blocked'; account: SessionAccount; reason: string }
  | { type: 'needs_attention'; account: SessionAccount; reason: string }
  | { type: 'recovered'; account: SessionAccount };

export type SessionEventSink = (event: SessionEvent) => Promise<void>;
