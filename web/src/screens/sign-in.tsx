// Sign in with an API token: a global token opens the workspaces, a workspace token its clusters.
import { useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { navigate } from '../router';
import { session } from '../session';
import { FormError, TextField, useSubmit } from '../ui';

export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const submit = useSubmit();
  const [fieldError, setFieldError] = useState<string | undefined>(undefined);

  const signIn = async (event: Event) => {
    event.preventDefault();
    setFieldError(undefined);
    const value = token.trim();
    if (!value) {
      setFieldError('enter a token');
      return;
    }
    await submit.run(async () => {
      // Only a global token may list workspaces: 200 says global, 403 a workspace's token.
      try {
        await api('GET', '/workspaces', undefined, value);
        session.signIn(value, true);
        navigate('/workspaces', true);
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 403) {
          setFieldError(err instanceof Error ? err.message : String(err));
          return;
        }
        session.signIn(value, false);
        if (location.pathname === '/' || location.pathname === '/workspaces') navigate('/clusters', true);
      }
      onSignedIn();
    });
  };

  return (
    <main class="sign-in">
      <form onSubmit={signIn} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Commander</h1>
        <TextField label="API token" type="password" value={token} onInput={setToken} error={fieldError} />
        <FormError error={submit.error?.message} />
        <button type="submit" class="primary" disabled={submit.busy}>
          Sign in
        </button>
        <p class="muted">The token stays in this tab only; signing out forgets it.</p>
      </form>
    </main>
  );
}
