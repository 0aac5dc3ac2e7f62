import { NotFoundError } from '../domain/errors.js';
import type { ConciliationRequestDoc, Models } from '../store/models.js';

/** Lookups the API needs to name things by id where the services take other keys (read only). */
export type ApiQueries = ReturnType<typeof createApiQueries>;

export function createApiQueries(models: Models) {
  return {
    /** A conciliation request of this user by its id: the account and external id the request service takes. */
    async requestRef(userId: string, id: string): Promise<{ accountId: string; externalId: string }> {
      const doc = await models.ConciliationRequest.findOne({ _id: id, userId }, { accountId: 1, externalId: 1 }).lean<Pick<ConciliationRequestDoc, 'accountId' | 'externalId'>>();
      if (!doc) throw new NotFoundError('Not found');
      return { accountId: doc.accountId, externalId: doc.externalId };
    },
  };
}
