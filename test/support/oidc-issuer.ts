// A small OIDC issuer for the browser's sign-in tests: discovery, JWKS, an authorization endpoint
// that answers at once for one fixed user (with a code, or with access_denied when told to), and
// a token endpoint that checks the PKCE verifier against the challenge, the client id and the
// redirect URI before it signs a JWT carrying the gateway's workspace and role claims. CORS is
// open: the browser posts the code from the application's origin.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface TestIssuer {
  url: string;
  /** What the next authorization answers: a code for the user, or access_denied. */
  mode: 'approve' | 'deny';
  /** Token requests refused, with the reason (wrong verifier…), for the test to read. */
  refusals: string[];
  close(): Promise<void>;
}

interface Grant {
  challenge: string;
  clientId: string;
  redirectUri: string;
}

export async function startTestIssuer(options: {
  clientId: string;
  audience: string;
  claims: Record<string, unknown>;
}): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'web-1', alg: 'RS256', use: 'sig' };
  const grants = new Map<string, Grant>();
  const refusals: string[] = [];
  let url = '';

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const refuse = (res: ServerResponse, error: string, description: string) => {
    refusals.push(description);
    json(res, 400, { error, error_description: description });
  };

  const authorize = (res: ServerResponse, query: URLSearchParams) => {
    const redirectUri = query.get('redirect_uri') ?? '';
    if (
      query.get('client_id') !== options.clientId ||
      !/^http:\/\/127\.0\.0\.1:\d+\/oidc\/callback$/.test(redirectUri)
    ) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('unknown client or redirect_uri');
      return;
    }
    const back = new URL(redirectUri);
    back.searchParams.set('state', query.get('state') ?? '');
    const challenge = query.get('code_challenge');
    if (issuer.mode === 'deny') {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'the user declined');
    } else if (
      query.get('response_type') !== 'code' ||
      query.get('code_challenge_method') !== 'S256' ||
      !challenge
    ) {
      back.searchParams.set('error', 'invalid_request');
      back.searchParams.set('error_description', 'PKCE with S256 is required');
    } else {
      const code = randomBytes(16).toString('base64url');
      grants.set(code, { challenge, clientId: options.clientId, redirectUri });
      back.searchParams.set('code', code);
    }
    res.writeHead(302, { location: back.toString() });
    res.end();
  };

  const token = async (res: ServerResponse, form: URLSearchParams) => {
    const code = form.get('code') ?? '';
    const grant = grants.get(code);
    grants.delete(code); // a code is good once
    if (form.get('grant_type') !== 'authorization_code' || !grant)
      return refuse(res, 'invalid_grant', 'unknown or used code');
    if (form.get('client_id') !== grant.clientId || form.get('redirect_uri') !== grant.redirectUri)
      return refuse(res, 'invalid_grant', 'client_id or redirect_uri differs from the authorization');
    const verifier = form.get('code_verifier') ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== grant.challenge)
      return refuse(res, 'invalid_grant', 'PKCE verifier does not match the challenge');
    const sign = (audience: string) =>
      new SignJWT(options.claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'web-1' })
        .setIssuer(url)
        .setAudience(audience)
        .setSubject('user-web-1')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
    json(res, 200, {
      token_type: 'Bearer',
      expires_in: 600,
      access_token: await sign(options.audience),
      id_token: await sign(options.clientId),
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('access-control-allow-origin', '*');
    const target = new URL(req.url ?? '/', url);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'content-type, accept',
      });
      res.end();
    } else if (req.method === 'GET' && target.pathname === '/.well-known/openid-configuration') {
      json(res, 200, {
        issuer: url,
        authorization_endpoint: `${url}/authorize`,
        token_endpoint: `${url}/token`,
        jwks_uri: `${url}/keys`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      });
    } else if (req.method === 'GET' && target.pathname === '/keys') {
      json(res, 200, { keys: [jwk] });
    } else if (req.method === 'GET' && target.pathname === '/authorize') {
      authorize(res, target.searchParams);
    } else if (req.method === 'POST' && target.pathname === '/token') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      await token(res, new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    } else {
      json(res, 404, { error: 'not_found' });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) =>
      json(res, 500, { error: 'server_error', error_description: error.message }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const issuer: TestIssuer = {
    url,
    mode: 'approve',
    refusals,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return issuer;
}
