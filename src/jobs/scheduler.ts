import { Agenda, type Job } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import type { Db } from 'mongodb';
import type { Logger } from '../log.js';

/** A job: thin by rule, it calls one service. */
export type JobSpec<Data = unknown> = {
  name: string;
  /** Repeat interval (human-interval text such as '1 hour'); omit for on-demand jobs. */
  every?: string;
  concurrency?: number;
  /** How long a run may hold its lock before Agenda considers it dead (default 10 minutes). */
  lockLifetimeMs?: number;
  run(data: Data): Promise<void>;
};

export type Scheduler = {
  start(): Promise<void>;
  /** Waits up to `timeoutMs` for running jobs, then unlocks what is left for another worker. */
  stop(timeoutMs: number): Promise<void>;
  now<Data>(name: string, data: Data): Promise<void>;
  /**
   * Resolves when the job queue can be used: its collection answers within `timeoutMs`, and a
   * scheduler that was started is still processing. Rejects with a sentence otherwise.
   */
  check(timeoutMs?: number): Promise<void>;
};

/** Where Agenda keeps the jobs (metrics read queue depth there). */
export const JOBS_COLLECTION = 'jobs';

/** Queue depth, read from the jobs collection (every process's view of one queue). */
export async function queueDepth(db: Db, now: Date): Promise<{ due: number; running: number; scheduled: number }> {
  const jobs = db.collection(JOBS_COLLECTION);
  const [due, running, scheduled] = await Promise.all([
    jobs.countDocuments({ nextRunAt: { $lte: now }, lockedAt: null, disabled: { $ne: true } }),
    jobs.countDocuments({ lockedAt: { $ne: null } }),
    jobs.countDocuments({ nextRunAt: { $gt: now }, lockedAt: null, disabled: { $ne: true } }),
  ]);
  return { due, running, scheduled };
}

export function createScheduler(deps: { db: Db; log: Logger; jobs: JobSpec[]; processEvery?: string | number; name?: string }): Scheduler {
  const log = deps.log.child({ component: 'jobs' });
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: deps.db, collection: JOBS_COLLECTION }),
    processEvery: deps.processEvery ?? '5 seconds',
    name: deps.name ?? 'reconbanker',
    defaultLockLifetime: 10 * 60_000,
  });
  agenda.on('error', (error: unknown) => log.error({ err: error }, 'job scheduler error'));

  for (const job of deps.jobs) {
    agenda.define(
      job.name,
      async (agendaJob: Job<unknown>) => {
        const started = Date.now();
        try {
          await job.run(agendaJob.attrs.data);
          log.debug({ job: job.name, ms: Date.now() - started }, 'job done');
        } catch (error) {
          log.error({ job: job.name, err: error }, 'job failed');
          throw error;
        }
      },
      { concurrency: job.concurrency ?? 1, ...(job.lockLifetimeMs ? { lockLifetime: job.lockLifetimeMs } : {}) },
    );
  }

  let started = false;
  let wasStarted = false;
  return {
    async start() {
      await agenda.start();
      for (const job of deps.jobs) if (job.every) await agenda.every(job.every, job.name);
      started = true;
      wasStarted = true;
      log.info({ jobs: deps.jobs.map((j) => j.name) }, 'job scheduler started');
    },
    async stop(timeoutMs) {
      if (!started) return;
      started = false;
      const result = await agenda.drain({ timeout: timeoutMs, closeConnection: false });
      if (result.timedOut) {
        log.warn({ running: result.running }, 'jobs still running at shutdown; unlocking them for another worker');
        await agenda.stop(false);
      }
      log.info('job scheduler stopped');
    },
    async now(name, data) {
      await agenda.now(name, data);
    },
    async check(timeoutMs = 5_000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the job queue did not answer in ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
        timer.unref();
      });
      try {
        await Promise.race([deps.db.collection(JOBS_COLLECTION).findOne({}, { projection: { _id: 1 } }), late]);
      } finally {
        clearTimeout(timer);
      }
      if (wasStarted && !started) throw new Error('the job scheduler has stopped');
    },
  };
}
