// events.mjs — the Events page (web/pages/events.js) in chromium, in the world of
// tests/integration/browser_lib.sh:
//   - the operator's page lists the newest events as GET /v1/events?order=desc does (count,
//     order, the first row's id), and opens one's details;
//   - the Kind filter goes into the URL and keeps what the API keeps for it; Clear takes it out;
//   - an event made while the page is open (a user created through the API) appears at the top
//     within seconds, from the live stream;
//   - acme's member sees acme's events only, as the API gives them, none of globex's; globex's
//     admin sees none of acme's.
// Screenshot events; "# timing" lines for the page.
import { run, login, ready, check, shot, timing, api, env, until } from './lib.mjs';

const U = (env.U || '').replace(/\/$/, '');

// The ids of the rows the list has drawn (the first screenful: it renders what is visible).
const rowIds = (page) => page.$$eval('.vrow [data-id]', (els) => els.map((e) => e.dataset.id));
const shown = async (page) => Number(((await page.textContent('[data-count]')) || '').replace(/[^0-9].*$/, ''));

async function listedAs(token, query = '') {
  const r = await api(token, 'GET', `/v1/events?order=desc&limit=500${query}`);
  return r.body.items;
}

run(async (t) => {
  const op = await t.page('operator on Events');
  await login(op, env.OP_TOKEN);
  await op.goto(`${U}/#/events`);
  timing('events: ready (operator, small world)', await ready(op, 'events'));
  let want = await listedAs(env.OP_TOKEN);
  const first = await rowIds(op);
  check(`the operator's list has the API's count of newest events (${await shown(op)} vs ${want.length})`,
    (await shown(op)) === want.length);
  check('… newest first, as GET /v1/events?order=desc: the first rows are its first items',
    first.length > 0 && first.slice(0, 5).join() === want.slice(0, 5).map((e) => e.id).join());

  await op.click(`.vrow [data-id="${want[0].id}"]`);
  const detail = await op.textContent(`[data-detail="${want[0].id}"]`).catch(() => '');
  check('clicking a row shows the event whole (its id, kind and data)',
    detail.includes(want[0].id) && detail.includes(want[0].kind));

  await op.fill('input[name=kind]', 'user.');
  await op.click('[data-action=filter]');
  const filtered = await until(async () => op.url().includes('kind=user.') &&
    (await op.$('[data-page="events"][data-ready="1"]')) && (await shown(op)) > 0, 5000);
  want = await listedAs(env.OP_TOKEN, '&kind=user.');
  check('the Kind filter goes into the URL (#/events?kind=user.)', filtered !== null);
  check(`… and lists what the API lists for it (${await shown(op)} vs ${want.length}), user.* only`,
    (await shown(op)) === want.length &&
    (await op.$$eval('.vrow', (rs) => rs.every((r) => r.textContent.includes('user.')))));

  // live: a user created now appears at the top, without a reload
  const made = await api(env.OP_TOKEN, 'POST', '/v1/users', { name: `live-${Date.now() % 100000}`, role: 'member', org: (await api(env.ADMIN_TOKEN, 'GET', '/v1/me')).body.user.org });
  check('a user is created through the API (201)', made.status === 201);
  const t0 = performance.now();
  const live = await until(async () => {
    const ev = (await listedAs(env.OP_TOKEN, '&kind=user.'))[0];
    return ev && ev.kind === 'user.created' && (await rowIds(op))[0] === ev.id ? ev : null;
  }, 8000);
  check('… its user.created event appears at the top of the filtered page, live', live !== null);
  if (live) timing('events: a new event on the page after its call', performance.now() - t0);
  await op.click('[data-action=clear]');
  check('Clear takes the filter out of the URL',
    (await until(async () => !op.url().includes('kind='), 5000)) !== null);
  await ready(op, 'events');
  await op.click('input[name=kind]'); // the focus off the list, for the picture
  await shot(op, 'events');

  // scoping: a member reads acme's events only; globex's admin none of acme's
  const mem = await t.page('member on Events');
  await login(mem, env.MEMBER_TOKEN);
  await mem.goto(`${U}/#/events`);
  await ready(mem, 'events');
  const memWant = await listedAs(env.MEMBER_TOKEN);
  const acme = (await api(env.MEMBER_TOKEN, 'GET', '/v1/me')).body.user.org;
  check(`acme's member sees the API's count for them (${await shown(mem)} vs ${memWant.length})`,
    (await shown(mem)) === memWant.length && memWant.every((e) => (e.orgs || []).includes(acme)));
  const glob = await t.page("globex's admin on Events");
  await login(glob, env.OTHER_ADMIN_TOKEN);
  await glob.goto(`${U}/#/events?object=${acme}`);
  await ready(glob, 'events');
  const globIds = await rowIds(glob);
  check("globex's admin, asking for events about acme, sees none", globIds.length === 0 && (await shown(glob)) === 0);
});
