// scale.mjs FLEET — how long the dashboard's big pages take to be usable (their root's
// data-ready="1", from a fresh load of the page's URL with the person logged in) and whether
// they then show the right counts, on the fleet tests/integration/browser_scale.sh made:
// FLEET "small" (make run's fleet) or "bench" (80,000 GPUs more, thousands of reservations).
// Prints "# timing <page> (<fleet>) <ms> ms" lines; the times are reported, never asserted
// (docs/dashboard.md lists what was measured). Pages that are not in the navigation yet are
// said so and skipped. SCALE_GPUS: the GPUs the fleet has (the suite counted them).
import { api, check, env, login, note, ready, run, shot, timing } from './lib.mjs';

const fleet = process.argv[2] || 'small';

// Every item of a list of the API, as the pages read it (500 a page).
async function all(token, path) {
  const items = [];
  for (let cursor = null; ;) {
    const r = await api(token, 'GET', `${path}${path.includes('?') ? '&' : '?'}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`);
    items.push(...r.body.items);
    if (!(cursor = r.body.next_cursor)) return items;
  }
}

// A fresh load of #/<id> (the token stays in the tab's sessionStorage); the ms to data-ready
// (Reservations: the reservations and the fleet's first page are in; data-complete="1" once
// the whole fleet is).
async function load(page, id, query = '') {
  await page.goto('about:blank');
  const t0 = performance.now();
  await page.goto(`${env.U}/#/${id}${query}`);
  await ready(page, id, 60000);
  return performance.now() - t0;
}

async function reservations(page, token, who) {
  const t0 = performance.now();
  const ms = await load(page, 'reservations');
  timing(`reservations ${who} (${fleet})`, ms);
  await page.waitForSelector('[data-page=reservations][data-complete="1"]', { timeout: 60000 });
  timing(`reservations ${who}, the whole fleet read (${fleet})`, performance.now() - t0);
  const want = await all(token, '/v1/reservations');
  const got = Number(await page.getAttribute('[data-count]', 'data-total'));
  check(`${fleet}: Reservations (${who}) counts the ${want.length} reservations the API lists (${got})`, got === want.length);
  return want;
}

run(async (t) => {
  const page = await t.page(`operator, ${fleet} fleet`);
  await login(page, env.OP_TOKEN);
  const nav = await page.locator('nav a[data-nav]').evaluateAll((as) => as.map((a) => a.getAttribute('data-nav')));

  const rs = await reservations(page, env.OP_TOKEN, 'operator');
  const gpus = Number(env.SCALE_GPUS);
  const rows = Number(await page.getAttribute('[role=grid]', 'aria-rowcount'));
  check(`${fleet}: the timeline has a row for each of the ${gpus} GPUs (${rows})`, rows === gpus);
  const inDom = await page.locator('.rsv-row').count();
  check(`${fleet}: only the rows in view are in the DOM (${inDom})`, inDom > 0 && inDom < 60);
  // the held GPUs of a quarter: a filter over the whole fleet, in the URL
  const t0 = performance.now();
  await page.goto(`${env.U}/#/reservations?zoom=quarter&held=1`);
  await page.waitForFunction(() => document.querySelector('[role=grid]') && location.hash.includes('held=1'));
  const start = Date.parse((await page.getAttribute('[data-span]', 'data-span')).split('/')[0]);
  const end = start + 91 * 86400e3;
  const held = new Set();
  for (const r of rs) if (Date.parse(r.start) < end && Date.parse(r.end) > start) for (const a of r.allocations) held.add(a.gpu);
  await page.waitForFunction((n) => Number(document.querySelector('[role=grid]').getAttribute('aria-rowcount')) === n, held.size, { timeout: 20000 })
    .catch(() => {});
  timing(`reservations quarter, held GPUs only (${fleet})`, performance.now() - t0);
  check(`${fleet}: "only GPUs held in this window" leaves the ${held.size} GPUs held in the quarter`,
    Number(await page.getAttribute('[role=grid]', 'aria-rowcount')) === held.size);

  if (fleet === 'bench') {
    // a month of the held GPUs of 80,000: what docs/dashboard.md shows
    await page.goto(`${env.U}/#/reservations?zoom=month&held=1`);
    await page.waitForFunction(() => location.hash.includes('zoom=month') && document.querySelector('.hold'));
    await shot(page, 'reservations-bench');
  }

  const evMs = await load(page, 'events');
  timing(`events (${fleet})`, evMs);
  // the page opens on the newest 500 (events.js, GET /v1/events?order=desc)
  const newest = (await api(env.OP_TOKEN, 'GET', '/v1/events?order=desc&limit=500')).body;
  const shown = Number(((await page.innerText('[data-count]')).match(/[\d,]+/) || ['0'])[0].replace(/,/g, ''));
  const first = await page.locator('.vrow [data-id]').first().getAttribute('data-id');
  // new events may arrive live meanwhile: the newest shown is among the API's newest few
  check(`${fleet}: Events shows the newest ${newest.items.length} events the API lists (${shown}, newest ${first})`,
    shown >= newest.items.length && newest.items.slice(0, 5).some((e) => e.id === first));

  if (nav.includes('pool')) {
    const ms = await load(page, 'pool');
    timing(`pool (${fleet})`, ms);
    // each model's GPUs as GET /v1/availability counts them, and the pool's free GPUs
    const pool = (await api(env.OP_TOKEN, 'GET', '/v1/pool')).body;
    const poolFree = new Map(pool.models.map((m) => [m.model, m.gpus_free]));
    for (const model of ['H100-80GB', 'A100-80GB']) {
      const a = (await api(env.OP_TOKEN, 'GET', `/v1/availability?model=${model}`)).body;
      const row = page.locator(`[data-page=pool] tr[data-id="${model}"]`);
      const n = async (col) => Number(await row.locator(`[data-col=${col}]`).getAttribute('data-n', { timeout: 5000 }).catch(() => NaN));
      const total = await n('total_gpus');
      const free = await n('pool_free');
      check(`${fleet}: Pool counts ${model}'s ${a.total_gpus} GPUs (${total}) and ${poolFree.get(model) || 0} free in the pool (${free})`,
        total === a.total_gpus && free === (poolFree.get(model) || 0));
    }
  } else {
    note('the Pool page is not in the navigation yet: not measured');
  }

  if (env.ADMIN_TOKEN) {
    const p2 = await t.page(`acme admin, ${fleet} fleet`);
    await login(p2, env.ADMIN_TOKEN);
    await reservations(p2, env.ADMIN_TOKEN, 'org admin');
  }
});
