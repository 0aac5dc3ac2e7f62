import fastifyMultipart from '@fastify/multipart';
import { UserError } from '../../domain/errors.js';
import { HttpError } from '../errors.js';
import { bufferSource } from '../../statements/text.js';
import * as s from '../schemas.js';
import { BEARER_SECURITY, type JwtAuth, type RouteContext, type ZodApp } from '../server.js';
import { importOut } from '../views.js';
import { accountIdOf } from './accounts.js';

/**
 * POST /accounts/:id/statements: a bank statement file, as the raw body (any content type;
 * the name in ?filename=) or as a multipart form with one file. The same import as the chat's
 * `statement import` (source `api`); at most STATEMENT_MAX_MB.
 */
export async function statementRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  const maxBytes = ctx.settings.statementMaxBytes;
  app.removeAllContentTypeParsers();
  await app.register(fastifyMultipart, { limits: { fileSize: maxBytes, files: 1, fields: 5, parts: 6 } });
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_request, body, done) => done(null, body));

  app.post(
    '/accounts/:id/statements',
    {
      preHandler: ctx.guard('operator'),
      bodyLimit: maxBytes + 64 * 1024,
      config: { messages: { notFound: 'Account not found' } },
      schema: {
        tags: ['statements'],
        summary: 'Import a bank statement file (camt.052/053/054, MT940/MT942, OFX/QFX, CSV) into a statement account',
        security: BEARER_SECURITY,
        params: s.idParams,
        querystring: s.statementQuery,
        response: s.jwtResponses({ 200: s.importSummary }),
      },
    },
    async (request) => {
      const userId = (request.auth as JwtAuth).userId;
      // The account first (another company's, or not a statement account, is refused before the file is read).
      const account = await ctx.services.statements.importer.accountFor(userId, accountIdOf(request.params.id));
      let bytes: Buffer;
      let fileName = request.query.filename ?? null;
      if (request.isMultipart()) {
        // A malformed form (no boundary, a broken part) is the sender's mistake, said plainly.
        const file = await request.file().catch((error: unknown) => {
          throw new UserError(`The multipart form could not be read (${error instanceof Error ? error.message.slice(0, 80) : 'malformed'}).`);
        });
        if (!file) throw new UserError('Send the statement file as the one file of the form.');
        bytes = await file.toBuffer().catch((error: unknown) => {
          if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw new HttpError(413, 'Request body too large');
          throw new UserError('The multipart form could not be read.');
        });
        if (file.file.truncated) throw new UserError(`The file is larger than ${Math.round(maxBytes / 1024 / 1024)} MB; split it or raise STATEMENT_MAX_MB.`);
        fileName ??= file.filename || null;
      } else {
        bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      }
      if (bytes.length === 0) throw new UserError('Send the statement file as the request body (or as the one file of a multipart form).');
      const summary = await ctx.services.statements.importer.importFile({
        userId,
        account: account.id,
        source: bufferSource(bytes, fileName ?? 'statement'),
        fileName,
        via: 'api',
      });
      return importOut(summary);
    },
  );
}
