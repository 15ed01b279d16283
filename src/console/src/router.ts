// A tiny history router for paths under /console/ (the server falls back to index.html for them).
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/console/';

export interface Location { path: string; query: URLSearchParams }

function current(): Location {
  const p = window.location.pathname;
  const path = p.startsWith(BASE) ? p.slice(BASE.length) : '';
  return { path: decodeURIComponent(path.replace(/\/+$/, '')), query: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  const url = BASE + to;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((l) => l());
  window.scrollTo(0, 0);
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return loc;
}

/** Click handler for in-app links: plain clicks navigate without a reload, modified clicks keep browser behaviour. */
export function linkTo(to: string) {
  return {
    href: BASE + to,
    onClick: (e: MouseEvent) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      navigate(to);
    },
  };
}
