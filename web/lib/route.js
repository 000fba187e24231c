// route.js — the dashboard's URLs: #/<page>?<params>. The view and its filters live in the
// hash, so a page can be bookmarked and shared (the token never is: it stays in
// sessionStorage), and the server answers the same index.html for every view.
import { useEffect, useState } from './html.js';

export function parse(hash = location.hash) {
  const s = hash.replace(/^#\/?/, '');
  const q = s.indexOf('?');
  const page = decodeURIComponent(q < 0 ? s : s.slice(0, q)) || '';
  const params = Object.fromEntries(new URLSearchParams(q < 0 ? '' : s.slice(q + 1)));
  return { page, params };
}

export function href(page, params = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return `#/${encodeURIComponent(page)}${s ? `?${s}` : ''}`;
}

export function go(page, params) {
  location.hash = href(page, params);
}

// Change some of the current view's params (null or '' removes one) without a new history
// entry: filters typed into a page update its URL as they change.
export function setParams(patch) {
  const { page, params } = parse();
  const next = { ...params, ...patch };
  history.replaceState(null, '', href(page, next));
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute() {
  const [r, setR] = useState(parse());
  useEffect(() => {
    const on = () => setR(parse());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return r;
}
