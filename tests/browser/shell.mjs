// shell.mjs — the dashboard's shell in a real browser (tests/integration/browser_shell.sh): the
// headers of what the server sends, the login (logged out at /, a wrong token shows the API's
// own message, the keyboard alone logs in), each role's header and navigation against the page
// registry web/pages/index.js, where the token lives (sessionStorage; never a URL, a cookie or
// localStorage), logout, a reload, and a bookmarked view opened directly.
import { run, check, login, ready, shot, timing, api, env, U, note } from './lib.mjs';

const ROLES = [
  { role: 'operator', token: env.OP_TOKEN, label: 'operator' },
  { role: 'org_admin', token: env.ADMIN_TOKEN, label: 'org admin' },
  { role: 'member', token: env.MEMBER_TOKEN, label: 'member' },
];

// What the server sends: the CSP and nosniff on /, JavaScript as text/javascript.
async function headers() {
  const root = await fetch(`${U}/`);
  const csp = root.headers.get('content-security-policy') || '';
  check(`/ answers 200 text/html (${root.status} ${root.headers.get('content-type')})`,
    root.status === 200 && /^text\/html/.test(root.headers.get('content-type') || ''));
  for (const d of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
    "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"])
    check(`/ carries a Content-Security-Policy with ${d}`, csp.split(/;\s*/).includes(d));
  check(`/ carries X-Content-Type-Options: nosniff`, root.headers.get('x-content-type-options') === 'nosniff');
  for (const p of ['/app.js', '/pages/index.js', '/vendor/htm-preact.js']) {
    const r = await fetch(`${U}${p}`);
    const ct = r.headers.get('content-type') || '';
    check(`${p} is served as text/javascript (${r.status} ${ct})`, r.status === 200 && /^text\/javascript/.test(ct));
  }
}

// The page registry as the browser loads it: [{id, roles}] in the navigation's order.
async function registry(page) {
  return page.evaluate(async () =>
    (await import('/pages/index.js')).default.map((p) => ({ id: p.id, roles: [...p.roles] })));
}

// Every URL the page asks for, to check that none carries the token.
function recordUrls(page) {
  const urls = [];
  let bearer = 0;
  page.on('request', (r) => {
    urls.push(r.url());
    if (new URL(r.url()).pathname.startsWith('/v1/') && /^Bearer al_/.test(r.headers().authorization || ''))
      bearer++;
  });
  return { urls, bearer: () => bearer };
}

async function stored(page) {
  return page.evaluate(() => ({
    session: Object.values(sessionStorage),
    local: Object.values(localStorage),
    cookie: document.cookie,
  }));
}

async function loggedOut(t) {
  const page = await t.page('the login page');
  await page.goto(`${U}/`);
  await ready(page, 'login');
  check('/ opens logged out, on the login page with a token field',
    await page.isVisible('[data-page="login"] input[name="token"]'));
  check('logged out: no header, no navigation', (await page.$('[data-me]')) === null &&
    (await page.$$('nav a[data-nav]')).length === 0);
  check('the token field has the focus (paste, Enter)',
    await page.evaluate(() => document.activeElement && document.activeElement.name === 'token'));
  check('the token field does not echo the token (type=password)',
    (await page.getAttribute('input[name="token"]', 'type')) === 'password');
  await shot(page, 'login');

  const bad = 'al_' + 'x'.repeat(43);
  const want = await api(bad, 'GET', '/v1/me');
  await page.fill('input[name="token"]', bad);
  await page.click('[data-action="login"]');
  await page.waitForSelector('[data-page="login"] .error', { timeout: 5000 });
  const said = (await page.textContent('[data-page="login"] .error')).trim();
  const msg = want.body && want.body.error && want.body.error.message;
  check(`a wrong token shows the API's message (${want.status} "${msg}"; shown: "${said}")`,
    want.status === 401 && !!msg && said.includes(msg));
  check('a wrong token is not kept', (await stored(page)).session.length === 0 &&
    (await page.$('[data-me]')) === null);
  await shot(page, 'login-wrong-token');
}

// Log in as one role; check the header, the navigation and where the token is.
async function asRole(t, { role, token, label }, pages) {
  const page = await t.page(`the shell as ${label}`);
  const seen = recordUrls(page);
  const mine = pages.filter((p) => p.roles.includes(role)).map((p) => p.id);
  const t0 = performance.now();
  if (role === 'member') { // the keyboard alone: the focused field, then Enter
    await page.goto(`${U}/`);
    await page.waitForSelector('input[name="token"]:focus');
    await page.keyboard.type(token);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-me]');
  } else {
    await login(page, token);
  }
  if (mine.length) {
    await ready(page, mine[0]);
    timing(`shell: login to the first page ready (${label}, ${mine[0]}, small fleet)`, performance.now() - t0);
  }
  const me = (await api(token, 'GET', '/v1/me')).body.user;
  const orgName = me.org ? (await api(token, 'GET', `/v1/orgs/${me.org}`)).body.name : '';
  if (orgName) await page.waitForFunction((n) => document.querySelector('[data-me]').textContent.includes(n), orgName, { timeout: 5000 }).catch(() => {});
  const head = (await page.textContent('[data-me]')).trim();
  check(`${label}: the header shows the name, the role and the org's name ("${head}")`,
    me.role === role && head.includes(me.name) && head.includes(label) && (!me.org || head.includes(orgName)));
  const nav = await page.$$eval('nav a[data-nav]', (as) => as.map((a) => a.dataset.nav));
  check(`${label}: the navigation is exactly the registry's pages for ${role} (${nav.join(',')} vs ${mine.join(',')})`,
    JSON.stringify(nav) === JSON.stringify(mine));
  check(`${label}: lands on the role's first page (#/${mine[0]})`, new URL(page.url()).hash.startsWith(`#/${mine[0]}`));

  // every page of the navigation opens, and a page the role may not see never does
  for (const id of mine.slice(1)) {
    await page.click(`nav a[data-nav="${id}"]`);
    await ready(page, id).then(() => {}, () => {});
    check(`${label}: the navigation opens ${id}`, (await page.$(`[data-page="${id}"]`)) !== null);
  }
  const hidden = pages.find((p) => !p.roles.includes(role));
  if (hidden) {
    await page.goto(`${U}/#/${hidden.id}`);
    await page.waitForFunction((id) => !location.hash.startsWith(`#/${id}`), hidden.id, { timeout: 5000 })
      .catch(() => {});
    check(`${label}: #/${hidden.id} (not a ${role}'s page) shows ${mine[0]} instead`,
      (await page.$(`[data-page="${hidden.id}"]`)) === null && new URL(page.url()).hash.startsWith(`#/${mine[0]}`));
  } else {
    console.log(`skip - ${label}: a page hidden from ${role}: the registry has none yet`);
  }
  await page.goto(`${U}/#/no-such-page`);
  await page.waitForFunction(() => !location.hash.startsWith('#/no-such-page'), null, { timeout: 5000 })
    .catch(() => {});
  check(`${label}: an unknown page shows the role's first page`, new URL(page.url()).hash.startsWith(`#/${mine[0]}`));

  const s = await stored(page);
  check(`${label}: the token is in sessionStorage`, s.session.includes(token));
  check(`${label}: the token is in no cookie and not in localStorage`,
    !s.cookie.includes(token) && !s.local.some((v) => v.includes(token)));
  const leak = seen.urls.filter((u) => u.includes(token) || u.includes(encodeURIComponent(token)));
  check(`${label}: the token is in none of the ${seen.urls.length} URLs the page asked for${leak.length ? `: ${leak[0]}` : ''}`,
    leak.length === 0 && !page.url().includes(token));
  check(`${label}: the API calls carry it as a Bearer header (${seen.bearer()})`, seen.bearer() > 0);
  await shot(page, `shell-${role}`);
  return page;
}

// A reload keeps the session and the view; a bookmark opens its view; logout forgets.
async function session(page) {
  const bookmark = '#/events?kind=reservation.created';
  await page.goto(`${U}/${bookmark}`);
  const ms = await ready(page, 'events');
  check(`a bookmarked view (${bookmark}) opens directly when logged in`, new URL(page.url()).hash === bookmark);
  timing('shell: a bookmarked events view ready', ms);
  await page.reload();
  await page.waitForSelector('[data-me]');
  await ready(page, 'events');
  check('a reload keeps the session and the view', new URL(page.url()).hash === bookmark);

  await page.click('[data-action="logout"]');
  await ready(page, 'login');
  check('logout shows the login page and forgets the token',
    (await stored(page)).session.length === 0 && (await page.$('[data-me]')) === null);
  await page.reload();
  await ready(page, 'login');
  check('after logout a reload stays logged out', (await page.$('[data-me]')) === null);
}

// A bookmark opened logged out: log in, and land on it.
async function bookmarkLoggedOut(t) {
  const page = await t.page('a bookmark opened logged out');
  const bookmark = '#/events?kind=org.created';
  await page.goto(`${U}/${bookmark}`);
  await ready(page, 'login');
  await page.fill('input[name="token"]', env.ADMIN_TOKEN);
  await page.click('[data-action="login"]');
  await ready(page, 'events');
  check(`a bookmark opened logged out lands on its view after the login (${new URL(page.url()).hash})`,
    new URL(page.url()).hash === bookmark);
}

run(async (t) => {
  await headers();
  await loggedOut(t);
  const probe = await t.page('the page registry');
  await probe.goto(`${U}/`);
  const pages = await registry(probe);
  note(`page registry: ${pages.map((p) => `${p.id}(${p.roles.join('/')})`).join(' ')}`);
  check('the page registry lists pages, each with roles among operator, org_admin, member',
    pages.length > 0 && pages.every((p) => p.roles.length > 0 &&
      p.roles.every((r) => ['operator', 'org_admin', 'member'].includes(r))));
  let op = null;
  for (const r of ROLES) {
    const page = await asRole(t, r, pages);
    if (r.role === 'operator') op = page;
  }
  await session(op);
  await bookmarkLoggedOut(t);
});
