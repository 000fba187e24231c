// app.js — the dashboard's shell: the login (a token pasted once, kept in sessionStorage for
// this tab only), the header with who is logged in, the navigation the role may use, and the
// page the URL names (lib/route.js). Pages are web/pages/*.js, listed in pages/index.js.
import { html, render, useEffect, useState } from './lib/html.js';
import { ApiError, api, me, onUnauthorized, setToken, token } from './lib/api.js';
import { go, href, useRoute } from './lib/route.js';
import { FormError } from './lib/ui.js';
import pages from './pages/index.js';

const ROLE_WORDS = { operator: 'operator', org_admin: 'org admin', member: 'member' };

function Login({ said }) {
  const [value, setValue] = useState('');
  const [err, setErr] = useState(said ? new ApiError(401, { error: { message: said } }) : null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    setToken(value.trim());
    try {
      await me();
      window.dispatchEvent(new Event('allot-login'));
    } catch (x) {
      setToken(null);
      setErr(x);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login" data-page="login" data-ready="1">
    <h1>allot</h1>
    <p>GPU capacity: the pool, dedicated reservations and MIG instances.</p>
    <form onSubmit=${submit}>
      <label class="field">
        <span>Your API token</span>
        <input name="token" type="password" autocomplete="off" spellcheck=${false} required
          placeholder="al_…" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} autofocus />
        <small class="muted">
          Operators: <code>make run</code> prints one. Org admins and members: the token your operator or org admin
          gave you (<code>allot user create</code>). It stays in this tab only and is never put in a URL.
        </small>
      </label>
      <${FormError} err=${err} />
      <button type="submit" data-action="login" disabled=${busy}>Log in</button>
    </form>
  </main>`;
}

// The org's name for the header (GET /v1/me gives its id).
function useOrgName(org) {
  const [name, setName] = useState('');
  useEffect(() => {
    if (org) api('GET', `/v1/orgs/${encodeURIComponent(org)}`).then((o) => setName(o.name || org), () => setName(org));
  }, [org]);
  return name;
}

function Shell({ user, onLogout }) {
  const { page, params } = useRoute();
  const orgName = useOrgName(user.org);
  const mine = pages.filter((p) => p.roles.includes(user.role));
  const current = mine.find((p) => p.id === page);
  useEffect(() => {
    if (!current && mine.length) go(mine[0].id);
  }, [page]);
  useEffect(() => {
    document.title = current ? `${current.title} · allot` : 'allot';
  }, [current]);
  const View = current && current.view;
  return html`<div class="shell">
    <header class="top">
      <a class="brand" href=${href(mine[0] ? mine[0].id : '')}>allot</a>
      <nav aria-label="pages">
        ${mine.map((p) => html`<a data-nav=${p.id} href=${href(p.id)} aria-current=${p === current ? 'page' : undefined}>${p.title}</a>`)}
      </nav>
      <span class="me" data-me title=${user.org || ''}>${user.name} · ${ROLE_WORDS[user.role] || user.role}${user.org ? ` · ${orgName || user.org}` : ''}</span>
      <button class="link" data-action="logout" onClick=${onLogout}>Log out</button>
    </header>
    <main class="content">
      ${View ? html`<${View} key=${page} me=${user} params=${params} />` : null}
    </main>
  </div>`;
}

function App() {
  const [user, setUser] = useState(null);
  const [said, setSaid] = useState('');
  const [checking, setChecking] = useState(!!token());
  const logout = (why) => {
    setToken(null);
    setUser(null);
    setSaid(typeof why === 'string' ? why : '');
  };
  useEffect(() => {
    const load = () => me().then(setUser, (e) => logout(e.message)).finally(() => setChecking(false));
    if (token()) load();
    window.addEventListener('allot-login', load);
    const off = onUnauthorized(() => logout('The server no longer accepts this token: log in again.'));
    return () => {
      window.removeEventListener('allot-login', load);
      off();
    };
  }, []);
  if (checking) return html`<p class="busy">Loading…</p>`;
  if (!user) return html`<${Login} said=${said} />`;
  return html`<${Shell} user=${user} onLogout=${() => logout('')} />`;
}

render(html`<${App} />`, document.getElementById('app'));
