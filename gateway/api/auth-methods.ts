// How a person may sign in: the one API route that takes no caller besides health. The web
// application asks it before anyone is signed in, to show "Sign in with OIDC" and to start the
// authorization-code flow. It answers only what the issuer publishes anyway (its URL) and the
// public client id the browser sends in the authorization URL: nothing secret, nothing per caller,
// and it reads no state.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { OidcConfig } from '../../shared/config.js';
import { typed } from '../request.js';

const methodsSchema = Type.Object({
  oidc: Type.Union([
    Type.Object({
      issuer: Type.String({ description: 'The OIDC issuer; its discovery document names the endpoints' }),
      client_id: Type.String({
        description: 'The public client id of the web application (PKCE, no secret)',
      }),
    }),
    Type.Null(),
  ]),
});

export function authMethodRoutes(app: FastifyInstance, oidc: OidcConfig | undefined): void {
  const answer = { oidc: oidc ? { issuer: oidc.issuer, client_id: oidc.clientId } : null };
  typed(app).get(
    '/api/v1/auth/methods',
    {
      schema: {
        tags: ['auth'],
        security: [],
        description:
          'Public, no token: whether the gateway accepts OIDC users, with the issuer and the client id ' +
          'the web application signs in with.',
        response: { 200: methodsSchema },
      },
    },
    async () => answer,
  );
}
