// reservations.mjs — the Reservations page (web/pages/reservations.js) against the API, run by
// tests/integration/browser_reservations.sh, which made the reservations named in the
// environment: RSV_GPU (acme, 2 whole H100s), RSV_MIG (acme, a 3g.71gb on mig-h200),
// RSV_LATER (acme, an A100 in ten days), RSV_OTHER (globex, an A100 from tomorrow).
import { api, check, env, login, ready, run, shot, timing, world } from './lib.mjs';

const DAY = 86400e3;
const ROW = 38; // the grid's row height (reservations_grid.js), for the MIG hold's place

// The URL's params of the page (its hash).
function params(page) {
  const h = new URL(page.url()).hash;
  return Object.fromEntries(new URLSearchParams(h.slice(h.indexOf('?') + 1)));
}

const fromOf = (t) => new Date(t).toISOString().slice(0, 16) + 'Z';
const whenOf = (iso) => `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

async function open(page, hash) {
  await page.goto('about:blank');
  await page.goto(`${env.U}/#/reservations${hash ? `?${hash}` : ''}`);
  const ms = await ready(page, 'reservations', 20000);
  await page.waitForSelector('[data-page=reservations][data-complete="1"]');
  return ms;
}

async function box(page, sel) {
  const b = await page.locator(sel).first().boundingBox();
  return b || { x: NaN, y: NaN, width: NaN, height: NaN };
}

// The hold of reservation `id` on GPU `gpu` lies where its window and units say.
async function placed(page, r, a, units, from, span) {
  const lane = await box(page, `.rsv-row[data-gpu="${a.gpu}"] .rsv-lane`);
  const bar = await box(page, `.hold[data-id="${r.id}"][data-gpu="${a.gpu}"]`);
  const x0 = lane.x + ((Date.parse(r.start) - from) / span) * lane.width;
  const x1 = lane.x + Math.min(1, (Date.parse(r.end) - from) / span) * lane.width;
  let ok = Math.abs(bar.x - x0) <= 2 && Math.abs(bar.x + bar.width - x1) <= 2;
  if (units) {
    const y0 = lane.y + 3 + (a.start_unit / units.of) * (ROW - 6);
    ok = ok && Math.abs(bar.y - y0) <= 1.5 && Math.abs(bar.height - (units.size / units.of) * (ROW - 6)) <= 1.5;
  }
  return { ok, got: `x ${bar.x.toFixed(1)}-${(bar.x + bar.width).toFixed(1)} y ${bar.y.toFixed(1)} h ${bar.height.toFixed(1)}`, want: `x ${x0.toFixed(1)}-${x1.toFixed(1)}` };
}

async function operatorChecks(t) {
  const page = await t.page('operator');
  await login(page, env.OP_TOKEN);
  timing('reservations (small fleet, first open)', await open(page, ''));
  const all = [];
  for (let cursor = null; ;) {
    const r = await api(env.OP_TOKEN, 'GET', `/v1/reservations?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    all.push(...r.body.items);
    if (!(cursor = r.body.next_cursor)) break;
  }
  check(`the page counts every reservation GET /v1/reservations gives (${all.length})`,
    Number(await page.getAttribute('[data-count]', 'data-total')) === all.length && all.length >= 4);
  const nodes = await api(env.OP_TOKEN, 'GET', '/v1/nodes?limit=500');
  const gpus = nodes.body.items.reduce((n, x) => n + x.gpus.length, 0);
  check(`the grid has a row for each of the fleet's ${gpus} GPUs`,
    Number(await page.getAttribute('[role=grid]', 'aria-rowcount')) === gpus);
  check('only the rows in view are in the DOM', (await page.locator('.rsv-row').count()) < gpus + 1 &&
    (await page.locator('.rsv-row').count()) <= Math.ceil(900 / ROW) + 12);

  // a whole-GPU hold where its window says, in a week from the day before it starts
  const g = all.find((r) => r.id === env.RSV_GPU);
  const from = Math.floor(Date.parse(g.start) / DAY) * DAY - DAY;
  await open(page, `zoom=week&from=${fromOf(from)}&node=h100`);
  let p = await placed(page, g, g.allocations[0], null, from, 7 * DAY);
  check(`${g.id}'s hold on ${g.allocations[0].gpu} spans its window (${p.got}; want ${p.want})`, p.ok);
  check(`${g.id} has a hold on each of its ${g.allocations.length} GPUs`,
    (await page.locator(`.hold[data-id="${g.id}"]`).count()) === g.allocations.length);

  // the MIG hold at its placement units of the H200's 8
  const m = all.find((r) => r.id === env.RSV_MIG);
  const models = (await api(env.OP_TOKEN, 'GET', '/v1/models')).body.items;
  const h200 = models.find((x) => x.name === m.model);
  const size = h200.profiles.find((x) => x.name === m.profile).size;
  await open(page, `zoom=week&from=${fromOf(from)}&node=mig`);
  p = await placed(page, m, m.allocations[0], { of: h200.units, size }, from, 7 * DAY);
  check(`${m.id}'s ${m.profile} is drawn on units ${m.allocations[0].start_unit}-${m.allocations[0].start_unit + size - 1} of ${h200.units} (${p.got}; want ${p.want})`, p.ok);
  await shot(page, 'reservations-mig');

  // zoom: buttons and keys change the URL and the span shown
  await open(page, `zoom=week&from=${fromOf(from)}`);
  await page.click('[data-action=zoom-month]');
  await page.waitForFunction(() => location.hash.includes('zoom=month'));
  let span = (await page.getAttribute('[data-span]', 'data-span')).split('/').map(Date.parse);
  check(`Month puts zoom=month in the URL and shows 30 days (${params(page).from})`,
    params(page).zoom === 'month' && span[1] - span[0] === 30 * DAY);
  await page.focus('.rsv-box');
  await page.keyboard.press('-');
  await page.waitForFunction(() => location.hash.includes('zoom=quarter'));
  span = (await page.getAttribute('[data-span]', 'data-span')).split('/').map(Date.parse);
  check('- zooms out to a quarter (91 days)', span[1] - span[0] === 91 * DAY);
  const before = Date.parse(params(page).from);
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((f) => !location.hash.includes(f), params(page).from);
  check('→ pans a quarter of the window later', Date.parse(params(page).from) - before === Math.round(91 * DAY / 4 / DAY) * DAY ||
    Date.parse(params(page).from) - before === 91 * DAY / 4);
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction((f) => location.hash.includes(`from=${encodeURIComponent(f)}`) || location.hash.includes(`from=${f}`), fromOf(before));
  check('← pans back', Date.parse(params(page).from) === before);
  await shot(page, 'reservations-quarter');
  await page.keyboard.press('+');
  await page.waitForFunction(() => location.hash.includes('zoom=month'));
  check('+ zooms in to a month', params(page).zoom === 'month');

  // a bookmark: the view, a filter and the open reservation survive a reload
  await open(page, `zoom=day&from=${fromOf(Date.parse(g.start) - 3 * 3600e3)}&model=H100-80GB&rsv=${g.id}`);
  const spanBefore = await page.getAttribute('[data-span]', 'data-span');
  await page.reload();
  await ready(page, 'reservations', 20000);
  await page.waitForSelector(`[data-detail="${g.id}"]`);
  check('a reload keeps the zoom, the window, the model filter and the details open',
    (await page.getAttribute('[data-span]', 'data-span')) === spanBefore && params(page).model === 'H100-80GB' &&
    (await page.inputValue('select[name=model]')) === 'H100-80GB');
  const rows = await page.locator('.rsv-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-gpu')));
  check('the model filter leaves only H100 rows', rows.length > 0 && rows.every((id) => !/a100|a30|l40s|h200/.test(id)));

  // the details: what, where, containers
  const d = page.locator(`[data-detail="${g.id}"]`);
  await d.locator('[data-containers]').waitFor();
  const text = await d.innerText();
  const ctr = await api(env.OP_TOKEN, 'GET', `/v1/containers?reservation=${g.id}`);
  check(`the details show ${g.id}'s org, state and window (${whenOf(g.start)} → ${whenOf(g.end)})`,
    text.includes('acme') && text.includes(g.state) && (await d.locator('[data-window]').innerText()).includes(`${whenOf(g.start)} → ${whenOf(g.end)}`));
  check('the details list its GPUs', (await d.locator('.rsv-allocs tbody tr').count()) === g.allocations.length &&
    g.allocations.every((a) => text.includes(a.gpu)));
  check(`the details show its containers as GET /v1/containers?reservation= does (${ctr.body.items.length})`,
    Number(await d.locator('[data-containers]').getAttribute('data-containers')) === ctr.body.items.length);
  check('an operator is offered extend, shorten and cancel',
    (await d.locator('[data-action=extend]').count()) === 1 && (await d.locator('[data-action=cancel]').count()) === 1);
  await open(page, `zoom=week&from=${fromOf(from)}&node=h100&rsv=${g.id}`); // its bars in view, outlined
  await page.waitForSelector(`[data-detail="${g.id}"] [data-containers]`);
  await shot(page, 'reservation-detail');
  await open(page, '');
  await shot(page, 'reservations');
}

async function adminChecks(t) {
  const page = await t.page('acme admin');
  await login(page, env.ADMIN_TOKEN);
  const mine = (await api(env.ADMIN_TOKEN, 'GET', '/v1/reservations?limit=500')).body.items;
  await open(page, `rsv=${env.RSV_GPU}`);
  check(`acme's admin sees acme's ${mine.length} reservations`, Number(await page.getAttribute('[data-count]', 'data-total')) === mine.length);
  // extend by a day through the page
  const g = mine.find((r) => r.id === env.RSV_GPU);
  const d = page.locator(`[data-detail="${g.id}"]`);
  await d.locator('[data-action=extend]').waitFor();
  await d.locator('[data-action=plus-day]').click();
  await d.locator('[data-action=extend]').click();
  await d.locator('[data-said]').waitFor();
  let now = (await api(env.ADMIN_TOKEN, 'GET', `/v1/reservations/${g.id}`)).body;
  check(`Extend +1 day moves ${g.id}'s end a day later, the API agrees (${now.end})`, Date.parse(now.end) === Date.parse(g.end) + DAY);
  check('the page shows the new end', (await d.locator('[data-window]').innerText()).includes(whenOf(now.end)));
  // shorten it back to its first end (before its start, the admin may)
  await d.locator('input[name=end]').fill(g.end);
  await d.locator('[data-action=shorten]').click();
  await page.waitForFunction(([sel, w]) => (document.querySelector(sel)?.innerText || '').includes(w),
    [`[data-detail="${g.id}"] [data-window]`, `→ ${whenOf(g.end)}`]);
  now = (await api(env.ADMIN_TOKEN, 'GET', `/v1/reservations/${g.id}`)).body;
  check(`Shorten to ${g.end} ends it there again, the API agrees (${now.end})`, now.end === g.end);
  // a refusal in words, next to the field: an end before the start
  await d.locator('input[name=end]').fill(g.start);
  await d.locator('[data-action=extend]').click();
  const err = d.locator('.error[data-field=end]');
  await err.waitFor();
  check(`an end before the start is refused next to the field: "${await err.innerText()}"`, (await err.innerText()).length > 10);
  // cancel the later one (before its start: the admin may)
  await open(page, `rsv=${env.RSV_LATER}`);
  const c = page.locator(`[data-detail="${env.RSV_LATER}"]`);
  await c.locator('[data-action=cancel]').click();
  await c.locator('[data-action=confirm-cancel]').click();
  await c.locator('[data-said]').waitFor();
  now = (await api(env.ADMIN_TOKEN, 'GET', `/v1/reservations/${env.RSV_LATER}`)).body;
  check(`Cancel → confirm cancels ${env.RSV_LATER}; the API says ${now.state}`, now.state === 'cancelled');
  await page.waitForSelector(`.hold.hold-cancelled[data-id="${env.RSV_LATER}"], [data-detail="${env.RSV_LATER}"] .badge-cancelled`);
  check('the page shows it cancelled', (await c.locator('.badge-cancelled').count()) === 1);
  // live: a change made elsewhere (the operator, through the API) is drawn without a reload
  await open(page, 'zoom=week');
  const m = (await api(env.OP_TOKEN, 'GET', `/v1/reservations/${env.RSV_MIG}`)).body;
  const end = new Date(Date.parse(m.end) + DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const ext = await api(env.OP_TOKEN, 'POST', `/v1/reservations/${env.RSV_MIG}/extend`, { end });
  const bar = page.locator(`.hold[data-id="${env.RSV_MIG}"]`);
  const moved = await page.waitForFunction(([sel, w]) => (document.querySelector(sel)?.title || '').includes(w),
    [`.hold[data-id="${env.RSV_MIG}"]`, `→ ${whenOf(end)}`], { timeout: 15000 }).then(() => true, () => false);
  check(`the operator's extend of ${env.RSV_MIG} (${ext.status}) reaches the open page over the event stream: "${(await bar.getAttribute('title') || '').split('\n')[1]}"`,
    ext.status === 200 && moved);
}

async function memberChecks(t) {
  const page = await t.page('acme member');
  await login(page, env.MEMBER_TOKEN);
  await open(page, `rsv=${env.RSV_GPU}`);
  const d = page.locator(`[data-detail="${env.RSV_GPU}"]`);
  await d.locator('[data-containers]').waitFor();
  check('a member sees the reservation but no extend, shorten or cancel',
    (await d.locator('[data-action=extend], [data-action=shorten], [data-action=cancel]').count()) === 0);
  const r = await api(env.MEMBER_TOKEN, 'POST', `/v1/reservations/${env.RSV_GPU}/cancel`, {});
  check(`and the API refuses a member's cancel (${r.status})`, r.status === 403);
}

async function otherOrgChecks(t) {
  const page = await t.page('globex admin');
  await login(page, env.OTHER_ADMIN_TOKEN);
  const theirs = (await api(env.OTHER_ADMIN_TOKEN, 'GET', '/v1/reservations?limit=500')).body.items;
  await open(page, 'zoom=quarter');
  check(`globex's admin sees globex's ${theirs.length} reservation(s) only`,
    Number(await page.getAttribute('[data-count]', 'data-total')) === theirs.length && theirs.every((r) => r.org !== world.org?.id));
  const body = await page.innerText('[data-page=reservations]');
  check('nothing of acme is on globex\'s page', !/acme/i.test(body) &&
    (await page.locator(`[data-id="${env.RSV_GPU}"], [data-id="${env.RSV_MIG}"]`).count()) === 0);
  await open(page, `rsv=${env.RSV_GPU}`);
  await page.waitForSelector(`[data-detail="${env.RSV_GPU}"] .error`);
  const words = await page.innerText(`[data-detail="${env.RSV_GPU}"]`);
  check(`acme's reservation by its id is not found for globex ("${words.split('\n').slice(-1)[0]}")`,
    !/acme|H100/i.test(words) && (await api(env.OTHER_ADMIN_TOKEN, 'GET', `/v1/reservations/${env.RSV_GPU}`)).status === 404);
}

run(async (t) => {
  await operatorChecks(t);
  await adminChecks(t);
  await memberChecks(t);
  await otherOrgChecks(t);
});
