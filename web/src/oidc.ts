// Sign in with OIDC: the authorization-code flow with PKCE (S256) as a public client (no secret).
// The browser reads the issuer's discovery document, goes to its authorization endpoint, comes
// back to CALLBACK_PATH with a code, and exchanges it at the token endpoint itself. The code and
// state leave the address bar at once; the token lives in session storage like an API token.
import { OIDC_PENDING } from './session';

/** What GET /api/v1/auth/methods says about OIDC. */
export interface OidcMethod {
  issuer: string;
  client_id: string;
}

/** Where the issuer sends the browser back; the gateway answers index.html for it. */
export const CALLBACK_PATH = '/oidc/callback';

interface Pending {
  state: string;
  verifier: string;
  tokenEndpoint: string;
  clientId: string;
  redirectUri: string;
}

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 32 random bytes: a PKCE verifier (43 characters) or a state. */
function randomText(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function s256(verifier: string): Promise<string> {
  if (!crypto.subtle) throw new Error('signing in with OIDC needs https (or localhost): no WebCrypto here');
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

/** An endpoint from the discovery document: an http(s) URL on the issuer's origin (the CSP allows no other). */
function endpoint(discovery: Record<string, unknown>, name: string, issuer: URL): URL {
  const value = discovery[name];
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new Error(`the issuer's discovery document has no valid ${name}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(`the issuer's ${name} must be an http(s) URL`);
  if (name === 'token_endpoint' && url.origin !== issuer.origin)
    throw new Error(`the issuer's ${name} must be on the issuer's origin ${issuer.origin}`);
  return url;
}

/** Starts the sign-in: the browser leaves for the issuer's authorization endpoint. */
export async function startOidcSignIn(method: OidcMethod): Promise<void> {
  const issuer = new URL(method.issuer);
  const response = await fetch(`${method.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
    headers: { accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`the issuer's discovery document: HTTP ${response.status}`);
  const discovery = (await response.json()) as Record<string, unknown>;
  const authorize = endpoint(discovery, 'authorization_endpoint', issuer);
  const tokenEndpoint = endpoint(discovery, 'token_endpoint', issuer);
  const pending: Pending = {
    state: randomText(),
    verifier: randomText(),
    tokenEndpoint: tokenEndpoint.toString(),
    clientId: method.client_id,
    redirectUri: `${location.origin}${CALLBACK_PATH}`,
  };
  const challenge = await s256(pending.verifier);
  sessionStorage.setItem(OIDC_PENDING, JSON.stringify(pending));
  for (const [key, value] of Object.entries({
    response_type: 'code',
    client_id: pending.clientId,
    redirect_uri: pending.redirectUri,
    scope: 'openid profile email',
    state: pending.state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }))
    authorize.searchParams.set(key, value);
  location.assign(authorize.toString());
}

function readPending(): Pending | undefined {
  const text = sessionStorage.getItem(OIDC_PENDING);
  sessionStorage.removeItem(OIDC_PENDING);
  try {
    return text ? (JSON.parse(text) as Pending) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Finishes a sign-in on CALLBACK_PATH: checks the state, exchanges the code with the verifier,
 * and returns the tokens the issuer gave (access token first), for the caller to try on the API.
 * An error from the issuer (access_denied…) is thrown with its words.
 */
export async function finishOidcSignIn(): Promise<string[]> {
  const params = new URLSearchParams(location.search);
  // The code and state must not stay in the address bar or the history.
  history.replaceState(null, '', '/');
  const pending = readPending();
  const refused = params.get('error');
  const description = params.get('error_description');
  if (refused)
    throw new Error(`The issuer refused the sign-in: ${refused}${description ? ` (${description})` : ''}`);
  if (!pending || params.get('state') !== pending.state)
    throw new Error('This sign-in answer does not match one started in this tab; sign in again.');
  const code = params.get('code');
  if (!code) throw new Error('The issuer sent no code back; sign in again.');
  const response = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: pending.redirectUri,
      client_id: pending.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const error = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
    const detail = typeof body.error_description === 'string' ? ` (${body.error_description})` : '';
    throw new Error(`The issuer refused the code: ${error}${detail}`);
  }
  const tokens = [body.access_token, body.id_token].filter(
    (token): token is string => typeof token === 'string' && token.split('.').length === 3,
  );
  if (tokens.length === 0) throw new Error('The issuer answered with no JWT to sign in with.');
  return tokens;
}
