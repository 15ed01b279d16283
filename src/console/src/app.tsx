// The console shell: sign-in gate, header with tabs and "Sign out", and the page for the current path.
import { useEffect, useState } from 'preact/hooks';
import { get, request, setUnauthorizedHandler, storedKey, storeKey, type ServerInfo } from './api';
import { FunctionPage } from './function-page';
import { Logs } from './logs';
import { Overview } from './overview';
import { linkTo, navigate, useLocation } from './router';
import { Insights } from './insights';
import { SignIn } from './sign-in';

export function App() {
  const [key, setKey] = useState<string | null>(storedKey);
  const [namespace, setNamespace] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | undefined>();
  const [info, setInfo] = useState<ServerInfo | null>(null);
  const loc = useLocation();

  const signOut = (why?: string) => {
    storeKey(null);
    setKey(null);
    setNamespace(null);
    setNotice(why);
  };

  useEffect(() => {
    setUnauthorizedHandler(() => signOut('Your API key was rejected; sign in again.'));
    void get<ServerInfo>('/api/v1').then(setInfo, () => setInfo(null));
  }, []);

  // A key kept from earlier in this tab: look up its namespace again.
  useEffect(() => {
    if (!key || namespace) return;
    request<string[]>('/api/v1/namespaces').then(
      (r) => setNamespace(r.body[0] ?? null),
      () => undefined,
    );
  }, [key, namespace]);

  useEffect(() => {
    document.title = key ? `${titleFor(loc.path)} · Flare console` : 'Sign in · Flare console';
  }, [key, loc.path]);

  if (!key) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(ns) => {
          setNotice(undefined);
          setNamespace(ns);
          setKey(storedKey());
        }}
      />
    );
  }

  const page = loc.path;
  const active = page.startsWith('logs') ? 'logs' : page === 'insights' ? 'insights' : 'overview';
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" {...linkTo('')}>
          <span class="logo" aria-hidden="true">◆</span> Flare
        </a>
        <nav aria-label="Sections" class="nav">
          <a {...linkTo('')} class={active === 'overview' ? 'active' : undefined} aria-current={active === 'overview' ? 'page' : undefined}>
            Overview
          </a>
          <a {...linkTo('logs')} class={active === 'logs' ? 'active' : undefined} aria-current={active === 'logs' ? 'page' : undefined}>
            Logs
          </a>
          <a {...linkTo('insights')} class={active === 'insights' ? 'active' : undefined} aria-current={active === 'insights' ? 'page' : undefined}>
            Insights
          </a>
        </nav>
        <div class="who">
          <span class="ns" title="Namespace">
            {namespace ?? '…'}
          </span>
          <button
            type="button"
            onClick={() => {
              signOut();
              navigate('', true);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page === '' && <Overview info={info} />}
        {page === 'logs' && <Logs initialFunction={loc.query.get('function') ?? undefined} />}
        {page.startsWith('functions/') && namespace && (
          <FunctionPage key={page} name={page.slice('functions/'.length)} namespace={namespace} info={info} authKey={key} />
        )}
        {page === 'insights' && <Insights />}
        {page !== '' && page !== 'logs' && page !== 'insights' && !page.startsWith('functions/') && (
          <p class="empty">
            This page does not exist. <a {...linkTo('')}>Back to the overview</a>
          </p>
        )}
      </main>
    </>
  );
}

function titleFor(path: string): string {
  if (path === 'logs') return 'Logs';
  if (path === 'insights') return 'Insights';
  if (path.startsWith('functions/')) return path.slice('functions/'.length);
  return 'Overview';
}
