// The web application's root: sign in, the header (navigation, workspace switcher, sign out)
// and the screen for the path. Screens other than sign in and the clusters list load on demand.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, whenUnauthorized } from './api';
import { startEvents, stopEvents } from './events';
import { CALLBACK_PATH } from './oidc';
import { follow, navigate, usePath } from './router';
import { ClustersScreen } from './screens/clusters';
import { SignIn } from './screens/sign-in';
import { session } from './session';
import './style.css';
import { lazy } from './ui';

const ClusterScreen = lazy(() => import('./screens/cluster').then((m) => m.ClusterScreen));
const CreateCluster = lazy(() => import('./screens/create-cluster').then((m) => m.CreateCluster));
const TemplatesScreen = lazy(() => import('./screens/templates').then((m) => m.TemplatesScreen));
const TemplateScreen = lazy(() => import('./screens/template').then((m) => m.TemplateScreen));
const InventoryScreen = lazy(() => import('./screens/inventory').then((m) => m.InventoryScreen));
const CatalogScreen = lazy(() => import('./screens/inventory').then((m) => m.CatalogScreen));
const RegistriesScreen = lazy(() => import('./screens/registries').then((m) => m.RegistriesScreen));
const TokensScreen = lazy(() => import('./screens/tokens').then((m) => m.TokensScreen));
const AuditScreen = lazy(() => import('./screens/audit').then((m) => m.AuditScreen));
const WorkspacesScreen = lazy(() => import('./screens/workspaces').then((m) => m.WorkspacesScreen));

const NAV: [string, string][] = [
  ['/clusters', 'Clusters'],
  ['/templates', 'Templates'],
  ['/inventory', 'Inventory'],
  ['/registries', 'Registries'],
  ['/tokens', 'Tokens'],
  ['/audit', 'Audit log'],
];

function Screen({ path }: { path: string }) {
  const parts = path.split('/').filter(Boolean);
  const [section, id, tab] = parts;
  if (section === 'workspaces') return <WorkspacesScreen />;
  if (session.token() === session.globalToken()) return <WorkspacesScreen />;
  if (section === 'clusters' && id === 'new') return <CreateCluster />;
  if (section === 'clusters' && id) return <ClusterScreen id={id} tab={tab ?? 'overview'} />;
  if (section === 'templates' && id) return <TemplateScreen id={id} />;
  if (section === 'templates') return <TemplatesScreen />;
  if (section === 'inventory' && id) return <CatalogScreen id={id} />;
  if (section === 'inventory') return <InventoryScreen />;
  if (section === 'registries') return <RegistriesScreen />;
  if (section === 'tokens') return <TokensScreen />;
  if (section === 'audit') return <AuditScreen />;
  return <ClustersScreen />;
}

function WorkspaceSwitcher() {
  const workspaces = session.workspaces();
  if (!session.globalToken()) return null;
  const current = session.token();
  return (
    <label class="switcher">
      <span>Workspace</span>
      <select
        aria-label="Workspace"
        value={current === session.globalToken() ? '' : (current ?? '')}
        onChange={(e) => {
          const token = (e.target as HTMLSelectElement).value;
          session.useToken(token || (session.globalToken() as string));
          startEvents();
          navigate(token ? '/clusters' : '/workspaces');
        }}
      >
        <option value="">All workspaces</option>
        {workspaces.map((w) => (
          <option key={w.id} value={w.token}>
            {w.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function App() {
  const path = usePath();
  const [signedIn, setSignedIn] = useState(session.token() !== null);
  useEffect(() => {
    // Links stay in the application (a click or Enter on a link both arrive as a click).
    document.addEventListener('click', follow);
    whenUnauthorized(() => {
      session.signOut();
      stopEvents();
      setSignedIn(false);
    });
  }, []);
  useEffect(() => {
    if (signedIn) startEvents();
  }, [signedIn]);
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  const global = session.token() === session.globalToken();
  return (
    <div class="app">
      <header>
        <a class="brand" href={global ? '/workspaces' : '/clusters'}>
          Commander
        </a>
        <nav aria-label="Main">
          {global ? (
            <a href="/workspaces" aria-current="page">
              Workspaces
            </a>
          ) : (
            NAV.map(([href, label]) => (
              <a key={href} href={href} aria-current={path.startsWith(href) ? 'page' : undefined}>
                {label}
              </a>
            ))
          )}
        </nav>
        <WorkspaceSwitcher />
        <button
          type="button"
          onClick={() => {
            session.signOut();
            stopEvents();
            setSignedIn(false);
            navigate('/', true);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <Screen path={path} />
      </main>
    </div>
  );
}

export { ApiError, api };

// An issuer's answer reaching a tab that is signed in already: nothing to finish, but the code
// and state must not stay in the address bar.
if (location.pathname === CALLBACK_PATH && session.token()) history.replaceState(null, '', '/');

render(<App />, document.getElementById('app') as HTMLElement);
