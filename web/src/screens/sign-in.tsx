// Sign in with an API token (a global token opens the workspaces, a workspace token its
// clusters), or with OIDC when the gateway has an issuer: the flow starts here and comes back
// to CALLBACK_PATH, where this screen finishes it.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { CALLBACK_PATH, finishOidcSignIn, type OidcMethod, startOidcSignIn } from '../oidc';
import { navigate } from '../router';
import { session } from '../session';
import { FormError, TextField, useSubmit } from '../ui';

/**
 * Signs `token` in if the API takes it. Only a global token may list workspaces: 200 says
 * global, 403 a workspace's token (or an OIDC user's). Anything else is thrown.
 */
async function signInWith(token: string): Promise<void> {
  try {
    await api('GET', '/workspaces', undefined, token);
    session.signIn(token, true);
    navigate('/workspaces', true);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403) throw err;
    session.signIn(token, false);
    if (['/', '/workspaces', CALLBACK_PATH].includes(location.pathname)) navigate('/clusters', true);
  }
}

export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const submit = useSubmit();
  const [fieldError, setFieldError] = useState<string | undefined>(undefined);
  // undefined until the gateway said which methods it has (the form is aria-busy until then).
  const [oidc, setOidc] = useState<OidcMethod | null | undefined>(undefined);
  const [oidcError, setOidcError] = useState<string | undefined>(undefined);
  const [oidcBusy, setOidcBusy] = useState(location.pathname === CALLBACK_PATH);

  useEffect(() => {
    api<{ oidc: OidcMethod | null }>('GET', '/auth/methods', undefined, null).then(
      (methods) => setOidc(methods.oidc),
      () => setOidc(null),
    );
    if (location.pathname !== CALLBACK_PATH) return;
    (async () => {
      const tokens = await finishOidcSignIn();
      // The access token when the gateway takes it (its audience), else the ID token.
      let last: unknown;
      for (const candidate of tokens) {
        try {
          await signInWith(candidate);
          onSignedIn();
          return;
        } catch (err) {
          last = err;
          if (!(err instanceof ApiError) || err.status !== 401) break;
        }
      }
      throw new Error(
        `The gateway did not accept the issuer's token: ${last instanceof Error ? last.message : String(last)}`,
      );
    })().catch((err: unknown) => {
      setOidcError(err instanceof Error ? err.message : String(err));
      setOidcBusy(false);
    });
  }, []);

  const signIn = async (event: Event) => {
    event.preventDefault();
    setFieldError(undefined);
    const value = token.trim();
    if (!value) {
      setFieldError('enter a token');
      return;
    }
    await submit.run(async () => {
      try {
        await signInWith(value);
      } catch (err) {
        setFieldError(err instanceof Error ? err.message : String(err));
        return;
      }
      onSignedIn();
    });
  };

  const signInWithOidc = async () => {
    if (!oidc) return;
    setOidcError(undefined);
    setOidcBusy(true);
    try {
      await startOidcSignIn(oidc);
    } catch (err) {
      setOidcError(err instanceof Error ? err.message : String(err));
      setOidcBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <form onSubmit={signIn} aria-labelledby="sign-in-title" aria-busy={oidc === undefined}>
        <h1 id="sign-in-title">Commander</h1>
        <TextField label="API token" type="password" value={token} onInput={setToken} error={fieldError} />
        <FormError error={submit.error?.message} />
        <button type="submit" class="primary" disabled={submit.busy}>
          Sign in
        </button>
        {oidc && (
          <button type="button" onClick={signInWithOidc} disabled={oidcBusy}>
            Sign in with OIDC
          </button>
        )}
        <FormError error={oidcError} />
        <p class="muted">The token stays in this tab only; signing out forgets it.</p>
      </form>
    </main>
  );
}
