// api.js — every call the dashboard makes goes through here: the public /v1 API with the
// token of the person logged in (sessionStorage, never a URL), an Idempotency-Key on each POST
// (so a retried click cannot act twice), and the API's error body turned into an ApiError
// whose message is shown to the person next to the field it names.

const KEY = 'allot.token';

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `the server answered ${status}`);
    this.status = status;
    this.code = e.code || 'unknown';
    this.field = (e.details && e.details.field) || '';
    this.details = e.details || {};
  }
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
  meCache = null;
}

// 32 hex digits from the browser's random source (crypto.randomUUID needs a secure context,
// and an operator may well open the dashboard over plain http on a private address).
export function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const listeners = new Set();
// cb(status) is called when the API says the token is no good (401): the shell logs out.
export function onUnauthorized(cb) {
  listeners.add(cb);
  return () => listeners.delete(cb);
}

// api('GET', '/v1/requests') → the parsed JSON answer. opts: {text: true} for an HTML or
// CSV answer, {idem: false} for a POST that must not carry a key, {key} to give one, {signal}.
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: opts.text ? 'text/html, text/csv, */*' : 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method === 'POST' && opts.idem !== false) headers['Idempotency-Key'] = opts.key || newKey();
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: opts.signal,
      cache: 'no-store',
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, { error: { message: `cannot reach the server: ${err.message}` } });
  }
  const type = res.headers.get('Content-Type') || '';
  const raw = await res.text();
  let parsed = null;
  if (type.startsWith('application/json') && raw) {
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new ApiError(res.status, { error: { message: 'the server sent malformed JSON' } });
    }
  }
  if (!res.ok) {
    if (res.status === 401 && t) listeners.forEach((cb) => cb(res.status));
    throw new ApiError(res.status, parsed);
  }
  return opts.text ? raw : parsed;
}

// Every item of a list, following next_cursor 500 at a time, up to `max` items.
export async function apiAll(path, max = 10000, opts = {}) {
  const items = [];
  let cursor = null;
  const sep = path.includes('?') ? '&' : '?';
  do {
    const page = await api(
      'GET',
      `${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      undefined,
      opts,
    );
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

let meCache = null;
// The person logged in: GET /v1/me's user (id, name, role, org), asked once per token.
export async function me() {
  if (!meCache) meCache = api('GET', '/v1/me').then((r) => r.user);
  try {
    return await meCache;
  } catch (err) {
    meCache = null;
    throw err;
  }
}

// A query string from an object, leaving out empty values.
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}
