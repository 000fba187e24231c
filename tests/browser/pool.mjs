// pool.mjs — the Pool and New request pages in a real browser (tests/integration/browser_pool.sh
// starts the world): as acme's member, the Pool's counts against GET /v1/availability and GET
// /v1/pool for the same window, a container launched on a free pool GPU (the pool node runs
// the `process` runtime), seen running with its logs, stopped and seen stopped, each against GET
// /v1/containers/{id}; as acme's org admin, a self-service reservation from an offering and a
// request filed through New request, each checked through the API, and count 0 refused with the
// API's message under the count input; the member has no New request; globex's admin sees
// neither acme's container nor its controls; the operator sees the fleet, no Launch.
import { run, login, ready, check, shot, timing, api, world, env, U } from './lib.mjs';

// The page's root, scrolled to the top (a full-page screenshot keeps the sticky header where
// the viewport was).
async function top(page) {
  await page.evaluate(() => window.scrollTo(0, 0));
}

// signIn(page, token): the login, then the shell's own landing (it moves an empty URL to the
// role's first page once logged in: a navigation before that would be overridden).
async function signIn(page, token) {
  await login(page, token);
  await page.waitForSelector('[data-page][data-ready="1"]', { timeout: 15000 });
}

// open(page, hash, id): go to U/#HASH and wait for the page; returns the ms from the
// navigation to data-ready.
async function open(page, hash, id) {
  const t0 = performance.now();
  await page.goto(`${U}/${hash}`);
  await ready(page, id, 15000);
  return performance.now() - t0;
}

function hourAhead(h) {
  const d = new Date(Date.now() + h * 3600e3);
  d.setUTCMinutes(0, 0, 0);
  return d.toISOString().replace('.000Z', 'Z');
}

// The Pool page's counts (whole GPUs free, total, pool free) against the API's answers for the
// same window, model by model.
async function checkCounts(page, from, until) {
  const rows = await page.$$eval('table.poolsum tbody tr[data-id]', (trs) => trs.map((tr) => ({
    model: tr.dataset.id,
    free: Number(tr.querySelector('[data-col=whole_gpus_free]').dataset.n),
    total: Number(tr.querySelector('[data-col=total_gpus]').dataset.n),
    pool: Number(tr.querySelector('[data-col=pool_free]').dataset.n),
  })));
  const models = (await api(env.MEMBER_TOKEN, 'GET', '/v1/models')).body.items.map((m) => m.name);
  const want = [];
  for (const m of models) {
    const a = (await api(env.MEMBER_TOKEN, 'GET', `/v1/availability?model=${m}&start=${from}&end=${until}`)).body;
    if (a.total_gpus > 0) want.push(a);
  }
  const pool = (await api(env.MEMBER_TOKEN, 'GET', '/v1/pool')).body;
  check(`Pool lists the models GET /v1/availability counts (${want.map((a) => a.model).join(', ')})`,
    rows.map((r) => r.model).join() === want.map((a) => a.model).join());
  for (const a of want) {
    const r = rows.find((x) => x.model === a.model) || {};
    const p = pool.models.find((x) => x.model === a.model);
    check(`Pool: ${a.model} ${r.free} of ${r.total} whole GPUs free, as GET /v1/availability (${a.whole_gpus_free} of ${a.total_gpus})`,
      r.free === a.whole_gpus_free && r.total === a.total_gpus);
    check(`Pool: ${a.model} ${r.pool} pool GPUs free now, as GET /v1/pool (${p ? p.gpus_free : 0})`, r.pool === (p ? p.gpus_free : 0));
  }
  return want;
}

async function member(t) {
  const page = await t.page('member');
  await signIn(page, env.MEMBER_TOKEN);
  const from = hourAhead(1);
  const until = hourAhead(3);
  const ms = await open(page, `#/pool?from=${from}&until=${until}`, 'pool');
  timing('pool ready (member, demo fleet)', ms);
  const want = await checkCounts(page, from, until);
  // one model opened: its MIG profiles against the API's
  await page.click('table.poolsum tr[data-id="H100-80GB"] [data-action=open]');
  await page.waitForSelector('[data-detail="H100-80GB"]');
  const hash = new URLSearchParams(new URL(page.url()).hash.split('?')[1] || '');
  check('the model opened and the window are in the URL (bookmarkable)',
    hash.get('model') === 'H100-80GB' && hash.get('from') === from && hash.get('until') === until);
  const h100 = want.find((a) => a.model === 'H100-80GB');
  const shown = await page.$$eval('[data-detail="H100-80GB"] tr[data-id]', (trs) =>
    Object.fromEntries(trs.filter((tr) => tr.querySelector('[data-col=instances_free]'))
      .map((tr) => [tr.dataset.id, Number(tr.querySelector('[data-col=instances_free]').dataset.n)])));
  check('H100-80GB: each MIG profile\'s free instances as GET /v1/availability',
    h100 && h100.profiles.every((p) => shown[p.profile] === p.instances_free));
  check('the member sees no New request in the navigation', (await page.$('nav a[data-nav=request]')) === null);

  // launch on a free pool GPU, picked in the list
  const pool = (await api(env.MEMBER_TOKEN, 'GET', '/v1/pool?model=H100-80GB')).body;
  const gpu = pool.models[0].gpus[0].id;
  await page.click(`[data-action=pick][data-id="${gpu}"]`);
  check(`the chosen GPU ${gpu} is the launch target, the keyboard in its Image input`,
    (await page.inputValue('select[name=target]')) === `gpu:${gpu}` &&
      (await page.evaluate(() => document.activeElement && document.activeElement.name)) === 'image');
  await page.fill('input[name=image]', 'localhost/bb:latest');
  await page.fill('input[name=command]', `sh -c 'echo "hello from $NVIDIA_VISIBLE_DEVICES"; exec sleep 300'`);
  check('the command is shown as the argv the API gets',
    (await page.$$eval('[data-argv] code.arg', (cs) => cs.map((c) => c.textContent))).join('|') ===
      'sh|-c|echo "hello from $NVIDIA_VISIBLE_DEVICES"; exec sleep 300');
  await top(page);
  await shot(page, 'pool');
  const t0 = performance.now();
  await page.click('[data-action=launch]');
  await page.waitForSelector('[data-container][data-state=running]', { timeout: 30000 });
  timing('pool launch to running (process runtime)', performance.now() - t0);
  const id = await page.getAttribute('[data-container]', 'data-container');
  const c = (await api(env.MEMBER_TOKEN, 'GET', `/v1/containers/${id}`)).body;
  check(`the container ${id} runs on ${gpu}, as GET /v1/containers/{id} says (${c.state}, ${c.gpu})`,
    c.state === 'running' && c.gpu === gpu && c.target.kind === 'pool');
  const listed = (await api(env.MEMBER_TOKEN, 'GET', '/v1/containers')).body.items.find((x) => x.id === id);
  const row = await page.waitForSelector(`.ctrs [data-id="${id}"][data-state=running]`, { timeout: 10000 }).catch(() => null);
  check('it is in GET /v1/containers and in the page\'s list, running', listed && listed.state === 'running' && row);
  await page.waitForFunction(() => /hello from GPU-/.test(document.querySelector('[data-logs]').textContent), null, { timeout: 15000 });
  const logs = (await api(env.MEMBER_TOKEN, 'GET', `/v1/containers/${id}/logs`)).body;
  check('its logs show what GET /v1/containers/{id}/logs has', /hello from GPU-/.test(logs) &&
    (await page.textContent('[data-logs]')).includes(logs.trim()));
  await top(page);
  await shot(page, 'pool-container');
  await page.click('[data-container] [data-action=stop]');
  await page.waitForSelector('[data-container][data-state=stopped]', { timeout: 30000 });
  const s = (await api(env.MEMBER_TOKEN, 'GET', `/v1/containers/${id}`)).body;
  check(`stopped: the page and GET /v1/containers/{id} say stopped, by the user (${s.state}, ${s.stop_reason})`,
    s.state === 'stopped' && s.stop_reason === 'user');
  check('no Stop once it is stopped', (await page.$('[data-container] [data-action=stop]')) === null);
  const onRsv = await onReservation(page);
  // the member may not reach New request (the API refuses members' requests)
  await page.goto(`${U}/#/request`);
  await page.waitForSelector('[data-page][data-ready="1"]');
  check('the member opening #/request lands elsewhere, with no Reserve or Submit',
    (await page.$('[data-page=request]')) === null && (await page.$('[data-action=reserve]')) === null);
  return { ctr: id, onRsv };
}

// A MIG reservation of acme active now (1g.18gb on the demo MIG node, whose agent runs the
// `process` runtime): made through the API, so that the member launches on its unit.
async function migReservation() {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const r = await api(env.ADMIN_TOKEN, 'POST', '/v1/reservations', {
    kind: 'mig', model: 'H200-141GB', profile: '1g.18gb', count: 1, duration_hours: 1, earliest_start: now,
  });
  if (r.status !== 201) throw new Error(`POST /v1/reservations answered ${r.status}: ${JSON.stringify(r.body)}`);
  for (let i = 0; i < 50; i++) {
    const g = (await api(env.ADMIN_TOKEN, 'GET', `/v1/reservations/${r.body.id}`)).body;
    if (g.state === 'active' && g.allocations[0].mig_uuid) return g;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`${r.body.id} did not become active with its MIG instance`);
}

// The member launches on the reservation's unit 0 (Run on), sees it running with its MIG
// device, and stops it.
async function onReservation(page) {
  const rsv = await migReservation();
  await open(page, '#/pool', 'pool');
  const target = `rsv:${rsv.id}:0`;
  await page.waitForSelector(`select[name=target] option[value="${target}"]`, { state: 'attached', timeout: 10000 });
  await page.selectOption('select[name=target]', target);
  await page.fill('input[name=image]', 'localhost/bb:latest');
  await page.fill('input[name=command]', `sh -c 'echo "on $NVIDIA_VISIBLE_DEVICES"; exec sleep 300'`);
  await page.click('[data-action=launch]');
  await page.waitForSelector('[data-container][data-state=running]', { timeout: 30000 });
  const id = await page.getAttribute('[data-container]', 'data-container');
  const c = (await api(env.MEMBER_TOKEN, 'GET', `/v1/containers/${id}`)).body;
  check(`launched on ${rsv.id} unit 0: GET /v1/containers/{id} runs it on its MIG instance (${c.device})`,
    c.state === 'running' && c.target.kind === 'reservation' && c.target.reservation === rsv.id &&
      c.device === rsv.allocations[0].mig_uuid);
  await page.click('[data-container] [data-action=stop]');
  await page.waitForSelector('[data-container][data-state=stopped]', { timeout: 30000 });
  check('and stopped', (await api(env.MEMBER_TOKEN, 'GET', `/v1/containers/${id}`)).body.state === 'stopped');
  return { rsv: rsv.id, ctr: id };
}

async function admin(t) {
  const page = await t.page('org admin');
  await signIn(page, env.ADMIN_TOKEN);
  const ms = await open(page, '#/request?model=H100-80GB&duration_hours=4', 'request');
  timing('request ready (org admin)', ms);
  // self-service: reserve the earliest offering
  await page.waitForSelector('[data-action=reserve]', { timeout: 15000 });
  const off = await page.getAttribute('[data-action=reserve]', 'data-id');
  await page.click(`[data-action=reserve][data-id="${off}"]`);
  await page.waitForSelector('[data-reserved]', { timeout: 15000 });
  const rid = await page.getAttribute('[data-reserved]', 'data-reserved');
  const r = await api(env.ADMIN_TOKEN, 'GET', `/v1/reservations/${rid}`);
  check(`Reserve made ${rid}: GET /v1/reservations/{id} has it, acme's, H100-80GB, 4 h, self-service`,
    r.status === 200 && r.body.org === world.org.id && r.body.model === 'H100-80GB' && r.body.origin === 'self_service' &&
      Date.parse(r.body.end) - Date.parse(r.body.start) === 4 * 3600e3);
  check('the reservation is linked', (await page.getAttribute('[data-reserved] a', 'href')) === `#/reservations?id=${rid}`);

  // a field error: count 0, the API's message under the count input
  await page.fill('input[name=count]', '0');
  await page.click('[data-action=submit]');
  const err = await page.waitForSelector('label:has(input[name=count]) .error[data-field=count]', { timeout: 10000 });
  const apiErr = await api(env.ADMIN_TOKEN, 'POST', '/v1/requests', { kind: 'gpu', count: 0, model: 'H100-80GB', duration_hours: 4 });
  check(`count 0: "${await err.textContent()}" under the count input, the API's message`,
    apiErr.status === 400 && (await err.textContent()) === apiErr.body.error.message &&
      (await page.getAttribute('input[name=count]', 'aria-invalid')) === 'true');
  await top(page);
  await shot(page, 'request-error');

  // a request filed through the form
  await page.waitForSelector('select[name=model] optgroup', { state: 'attached', timeout: 10000 });
  const groups = await page.$$eval('select[name=model] optgroup', (gs) => gs.map((g) => [g.label, [...g.querySelectorAll('option')].map((o) => o.value)]));
  const inFleet = (groups.find((g) => g[0].startsWith('In the fleet')) || [null, []])[1];
  check(`the models offered first are those of the fleet (${inFleet.join(', ')})`,
    inFleet.join() === 'A30-24GB,A100-80GB,H100-80GB,H200-141GB,L40S-48GB');
  await page.fill('input[name=count]', '2');
  check('the error goes once count is changed', (await page.$('.error[data-field=count]')) === null);
  await page.click('fieldset.choice label:has(input[value=mig])');
  await page.selectOption('select[name=model]', 'A100-80GB');
  await page.selectOption('select[name=profile]', '3g.40gb');
  await page.fill('input[name=framework]', 'PyTorch 2.5');
  await page.fill('input[name=workload]', 'fine-tuning');
  await page.waitForSelector('[data-avail="A100-80GB"]', { timeout: 15000 });
  await top(page);
  await shot(page, 'request');
  await page.click('[data-action=submit]');
  await page.waitForSelector('[data-filed]', { timeout: 10000 });
  const qid = await page.getAttribute('[data-filed]', 'data-filed');
  const q = await api(env.ADMIN_TOKEN, 'GET', `/v1/requests/${qid}`);
  check(`Submit filed ${qid}: GET /v1/requests/{id} has 2 × A100-80GB 3g.40gb for 4 h, fine-tuning`,
    q.status === 200 && q.body.kind === 'mig' && q.body.count === 2 && q.body.model === 'A100-80GB' &&
      q.body.profile === '3g.40gb' && q.body.duration_hours === 4 && q.body.workload === 'fine-tuning' &&
      q.body.state === 'submitted');
  check('the request is linked as #/requests?id=…', (await page.getAttribute('[data-filed] a', 'href')) === `#/requests?id=${qid}`);
  const list = (await api(env.ADMIN_TOKEN, 'GET', '/v1/requests')).body.items;
  check('it is in GET /v1/requests', list.some((x) => x.id === qid));
  return { rid, qid };
}

async function other(t, ctr, onRsv) {
  const page = await t.page('other org admin');
  await signIn(page, env.OTHER_ADMIN_TOKEN);
  await open(page, '#/pool?ctrs=all', 'pool');
  await page.waitForSelector('.ctrs p:not(.busy), .ctrs .vlist');
  check(`globex's admin sees neither acme's containers (${ctr}, ${onRsv.ctr}) in the list, ended ones included`,
    (await page.$(`[data-id="${ctr}"]`)) === null && (await page.$(`[data-id="${onRsv.ctr}"]`)) === null);
  check(`nor acme's active reservation ${onRsv.rsv} as a launch target`,
    !(await page.$$eval('select[name=target] option', (os) => os.map((o) => o.value))).some((v) => v.includes(onRsv.rsv)));
  // New request: windows at list price (globex has no contract), no Reserve, nothing of acme's
  await open(page, '#/request?model=H100-80GB&duration_hours=4', 'request');
  await page.waitForSelector('[data-nocontract]', { timeout: 15000 });
  check('globex\'s admin, without a contract, gets windows at list price and no Reserve',
    (await page.$('[data-action=reserve]')) === null && (await page.$$('.fit tr[data-id]')).length > 0);
  check('and no org to choose (acme is not named anywhere on the page)',
    (await page.$('select[name=org]')) === null && !(await page.textContent('[data-page=request]')).includes('acme'));
  await page.goto(`${U}/#/pool?ctr=${ctr}`);
  await page.waitForSelector(`[data-container="${ctr}"] .error`, { timeout: 10000 });
  check('nor a container opened by its id: the API\'s 404, no state, no Stop',
    (await page.$(`[data-container="${ctr}"][data-state]`)) === null && (await page.$('[data-action=stop]')) === null);
}

async function operator(t, ctr) {
  const page = await t.page('operator');
  await signIn(page, env.OP_TOKEN);
  const ms = await open(page, `#/pool?ctrs=all&ctr=${ctr}`, 'pool');
  timing('pool ready (operator, demo fleet)', ms);
  check('the operator has no Launch (operators start no container) and no Choose',
    (await page.$('[data-action=launch]')) === null && (await page.$('[data-action=pick]')) === null);
  await page.waitForSelector(`[data-container="${ctr}"][data-state=stopped]`, { timeout: 10000 });
  check('the operator sees every org\'s containers: acme\'s, stopped', (await page.$(`.ctrs [data-id="${ctr}"]`)) !== null);
  // Next 24 h: the window goes into the URL and the counts follow it
  await page.click('[data-action=preset-24h]');
  await page.waitForFunction(() => location.hash.includes('until='));
  const h = new URLSearchParams(new URL(page.url()).hash.split('?')[1]);
  await page.waitForFunction((f) => document.querySelector('.stats').textContent.includes(f.slice(0, 16).replace('T', ' ')),
    h.get('from'), { timeout: 10000 });
  check(`Next 24 h puts a 24 h window in the URL (${h.get('from')} → ${h.get('until')})`,
    Date.parse(h.get('until')) - Date.parse(h.get('from')) === 24 * 3600e3);
  await checkCounts(page, h.get('from'), h.get('until'));
}

run(async (t) => {
  await admin(t);
  const { ctr, onRsv } = await member(t);
  await other(t, ctr, onRsv);
  await operator(t, ctr);
});
