import { NotFoundError } from '../../domain/errors.js';
import * as s from '../schemas.js';
import { BEARER_SECURITY, type RouteContext, type ZodApp } from '../server.js';
import { bankView } from '../views.js';
import { z } from 'zod';

/** GET /banks, GET /banks/:id. */
export function bankRoutes(app: ZodApp, ctx: RouteContext): void {
  const tags = ['banks'];
  app.get('/banks', { preHandler: ctx.guard('viewer'), schema: { tags, summary: 'Banks this service can read', security: BEARER_SECURITY, response: s.jwtResponses({ 200: z.array(s.bank) }) } }, async () => ctx.services.banks.list().map(bankView));

  app.get(
    '/banks/:id',
    { preHandler: ctx.guard('viewer'), config: { messages: { notFound: 'Bank not found' } }, schema: { tags, summary: 'A bank and its integration (the built-in driver)', security: BEARER_SECURITY, params: s.idParams, response: s.jwtResponses({ 200: s.bankDetail }) } },
    async (request) => {
      const bank = ctx.services.banks.find(request.params.id);
      if (!bank) throw new NotFoundError('Bank not found');
      return { ...bankView(bank), scripts: [{ id: `${bank.id}@${bank.driverVersion}`, flow_type: 'extract_transactions' as const, version: bank.driverVersion, status: 'active' as const, origin: 'builtin' as const, created_at: null }] };
    },
  );
}
