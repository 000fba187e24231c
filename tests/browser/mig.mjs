// mig.mjs — the GPU and MIG changes pages (web/pages/gpu.js, migchanges.js) in chromium, in
// the world of tests/integration/browser_lib.sh (its demo MIG node mig-h200: one H200-141GB
// split into seven 1g.18gb, with its own agent applying the changes an operator approves):
//   - the operator opens mig-h200's GPU 0: the boxes drawn are the instances GET
//     /v1/nodes/mig-h200 reports (count, profiles, MIG UUIDs) at their start units, to scale;
//     the node list is searchable; a whole GPU acme reserves is one box naming its holder;
//   - acme holds the seven 1g.18gb for a few seconds more and reserves a 4g.71gb from an hour
//     on: the server plans a change (destroys 1g.18gb at 0-3, creates 4g.71gb at 0) that acme
//     must acknowledge; the GPU page shows it before and after;
//   - acme's member sees the change and its report but no Acknowledge or Apply; globex's admin
//     sees nothing of acme's (no change, no names, no UUIDs, the change's URL answers 404);
//   - acme's admin acknowledges it in the page (first without ticking the boxes: the API's
//     refusal shows next to the box it names);
//   - once the checks pass (the 1g.18gb reservation ended, the window opened) the operator
//     applies it in the page, the agent makes it, the page shows it applied, and the GPU page
//     then draws the new layout, as the API reports it.
// Screenshots gpu (the new layout), gpu-planned, migchanges, migchange-detail; "# timing" lines for the pages.
import { run, login, ready, check, shot, timing, api, env, world, note, until } from './lib.mjs';

const U = (env.U || '').replace(/\/$/, '');
const NODE = (world.nodes && world.nodes.mig) || 'mig-h200';
const HOLD_S = 20; // acme's 1g.18gb end this many seconds after the spec reserves them

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const key = (i) => `${i.profile}@${i.start}`;
const sorted = (list) => list.map(key).sort().join(',');

// The boxes of the layout [data-layout=LABEL] as drawn: profile, start, size, uuid and where
// each sits on its track, as a fraction of the track's width.
function drawn(page, label) {
  return page.evaluate((l) => {
    const bar = document.querySelector(`[data-layout="${l}"]`);
    if (!bar) return null;
    const track = bar.querySelector('.migbar-track').getBoundingClientRect();
    return {
      units: Number(bar.dataset.units),
      items: [...bar.querySelectorAll('.mig-inst:not([data-whole])')].map((el) => {
        const r = el.getBoundingClientRect();
        return {
          profile: el.dataset.profile,
          start: Number(el.dataset.start),
          size: Number(el.dataset.size),
          uuid: el.dataset.uuid || '',
          left: (r.left - track.left) / track.width,
          width: r.width / track.width,
        };
      }),
    };
  }, label);
}

// Each box sits at start/units and spans size/units of the track (within 1%: the boxes keep a
// 2 px gap between them).
function toScale(d) {
  return d.items.every((i) => Math.abs(i.left - i.start / d.units) < 0.01 &&
    Math.abs(i.width - i.size / d.units) < 0.01);
}

// shot(), from the top of the page (a click scrolls it; the shell's header is sticky).
async function snap(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, name);
}

async function gpu0() {
  const n = await api(env.OP_TOKEN, 'GET', `/v1/nodes/${NODE}`);
  return n.body.gpus.find((g) => g.index === 0);
}

run(async (t) => {
  const models = (await api(env.OP_TOKEN, 'GET', '/v1/models')).body.items;
  const h200 = models.find((m) => m.name === 'H200-141GB');
  const gpuHash = `#/gpu?node=${NODE}&gpu=0`;

  // ------------------------------------------------ the operator opens the GPU
  // the page's URL first, then the login: the time from the click to the drawn layout
  const op = await t.page('operator');
  await op.goto(`${U}/${gpuHash}`);
  await op.fill('input[name=token]', env.OP_TOKEN);
  let t0 = performance.now();
  await op.click('[data-action=login]');
  await ready(op, 'gpu');
  timing('gpu page ready after login (operator, mig-h200 GPU 0)', performance.now() - t0);
  const before = await gpu0();
  const obs = before.observed.instances;
  let d = await drawn(op, 'current');
  check(`the GPU page draws ${obs.length} instances, as GET /v1/nodes/${NODE} reports`, d && d.items.length === obs.length);
  check('… on the model\'s placement units (GET /v1/models)', d && d.units === h200.units);
  check('… with the profiles and start units reported', d && sorted(d.items) === sorted(obs));
  check('… and their MIG UUIDs', d && d.items.map((i) => i.uuid).sort().join() === obs.map((i) => i.uuid).sort().join());
  check('… each box at its start unit, spanning its size, to scale', d && toScale(d));
  check('… the unit no instance covers is drawn free',
    (await op.locator('[data-layout="current"] .migbar-free').count()) === h200.units - obs.reduce((s, i) => s + i.size, 0));
  check('the node list shows the fleet\'s nodes, mig-h200 among them',
    (await op.locator(`.gpu-nodes [data-id="${NODE}"]`).count()) === 1);
  await op.fill('input[name=q]', 'pool');
  check('… searchable: "pool" leaves pool-h100 alone',
    (await until(async () => (await op.locator('.gpu-nodes .noderow').count()) === 1, 3000)) !== null &&
    (await op.locator('.gpu-nodes [data-id="pool-h100"]').count()) === 1);
  check('… and the search is in the URL', op.url().includes('q=pool'));
  await op.fill('input[name=q]', '');

  // ------------------------------------------------ a whole GPU: one box, its holder
  const t1 = Date.now();
  const whole = await api(env.ADMIN_TOKEN, 'POST', '/v1/reservations', {
    kind: 'gpu', model: 'H100-80GB', count: 1, start: iso(t1 - 60000), end: iso(t1 + 3600000),
  });
  const wa = whole.body.allocations && whole.body.allocations[0];
  if (check('acme reserves a whole H100-80GB now (API)', whole.status === 201 && wa)) {
    const g = (await api(env.OP_TOKEN, 'GET', `/v1/nodes/${wa.node}`)).body.gpus.find((x) => x.id === wa.gpu);
    await op.goto(`${U}/#/gpu?node=${wa.node}&gpu=${g.index}`);
    const box = op.locator('[data-layout="current"] [data-whole]');
    check(`… its GPU (${wa.node} GPU ${g.index}) drawn as one box naming acme and the reservation`,
      (await until(async () => (await box.count()) === 1 && /acme/.test(await box.innerText()) &&
        (await box.innerText()).includes(whole.body.id), 10000)) !== null);
  }
  await op.goto(`${U}/${gpuHash}`);
  await ready(op, 'gpu');

  // ------------------------------------------------ a change that needs acme's acknowledgement
  const now = Date.now();
  const hold = await api(env.ADMIN_TOKEN, 'POST', '/v1/reservations', {
    kind: 'mig', model: 'H200-141GB', profile: '1g.18gb', count: 7,
    start: iso(now - 60000), end: iso(now + HOLD_S * 1000),
  });
  const big = await api(env.ADMIN_TOKEN, 'POST', '/v1/reservations', {
    kind: 'mig', model: 'H200-141GB', profile: '4g.71gb', count: 1,
    start: iso(now + 3600000), end: iso(now + 7200000),
  });
  if (!check('acme reserves the seven 1g.18gb now and a 4g.71gb from an hour on (API)',
    hold.status === 201 && big.status === 201)) note(JSON.stringify([hold.body, big.body]).slice(0, 600));
  const change = await until(async () => {
    const r = await api(env.OP_TOKEN, 'GET', `/v1/mig-changes?node=${NODE}&state=planned`);
    return r.body.items && r.body.items[0];
  }, 20000);
  if (!check('the server plans a MIG change for mig-h200', change)) return;
  const id = change.id;
  check('… 4g.71gb at 0 in place of the 1g.18gb at 0-3',
    sorted(change.to.instances) === '1g.18gb@4,1g.18gb@5,1g.18gb@6,4g.71gb@0');

  check('the GPU page shows the planned change (live)',
    (await until(async () => (await op.locator(`[data-planned="${id}"]`).count()) === 1, 15000)) !== null);
  const after = await drawn(op, 'after');
  check('… its layout after: the change\'s "to", at its start units, to scale',
    after && sorted(after.items) === sorted(change.to.instances) && toScale(after));
  check('… the instances it destroys marked before, the one it creates marked after',
    (await op.locator('[data-layout="before"] .mig-destroy').count()) === 4 &&
    (await op.locator('[data-layout="after"] .mig-create').count()) === 1);
  check('… the owner of each instance named: acme and its reservation',
    (await op.locator('[data-layout="before"] .mig-inst', { hasText: hold.body.id }).count()) === 7 &&
    (await op.locator('[data-layout="after"] .mig-create', { hasText: big.body.id }).count()) === 1);
  await snap(op, 'gpu-planned');

  // ------------------------------------------------ a member: the report, no controls
  const mem = await t.page('member');
  await login(mem, env.MEMBER_TOKEN);
  await mem.goto(`${U}/#/migchanges?id=${id}`);
  await ready(mem, 'migchanges');
  check('acme\'s member sees the change and its safety report',
    (await mem.locator(`[data-detail="${id}"] [data-check="acknowledged"]`).count()) === 1);
  check('… but no Acknowledge and no Apply',
    (await mem.locator('[data-action="ack"], [data-action="apply"]').count()) === 0);
  await mem.goto(`${U}/${gpuHash}`);
  await ready(mem, 'gpu');
  const md = await drawn(mem, 'current');
  check('… and on the GPU page, acme\'s instances (its 1g.18gb, its own colour)',
    md && md.items.length > 0 && (await mem.locator('[data-layout="current"] .mig-inst:not(.mig-mine)').count()) === 0);

  // ------------------------------------------------ another org's admin: nothing of acme's
  const other = await t.page('globex admin');
  await login(other, env.OTHER_ADMIN_TOKEN);
  await other.goto(`${U}/#/migchanges`);
  await ready(other, 'migchanges');
  check('globex\'s admin: no MIG change listed', (await other.locator(`[data-id="${id}"]`).count()) === 0 &&
    (await other.locator('[data-none]').count()) === 1);
  await other.goto(`${U}/#/migchanges?id=${id}`);
  await ready(other, 'migchanges');
  check('… acme\'s change by its URL: the API\'s 404, in words',
    (await other.locator(`[data-detail="${id}"] .error`).count()) === 1 &&
    (await other.locator('[data-action="ack"], [data-action="apply"]').count()) === 0);
  await other.goto(`${U}/${gpuHash}`);
  await ready(other, 'gpu');
  const seen = await other.locator('main').innerText();
  check('… mig-h200\'s GPU: nothing drawn, no name, reservation or UUID of acme\'s',
    (await other.locator('.mig-inst').count()) === 0 && !/acme/i.test(seen) &&
    !seen.includes(hold.body.id) && !seen.includes('MIG-demo'));

  // ------------------------------------------------ the operator's view while checks fail
  t0 = performance.now();
  await op.click('nav a[data-nav="migchanges"]');
  await ready(op, 'migchanges');
  timing('migchanges page ready (operator, from the navigation)', performance.now() - t0);
  await op.goto(`${U}/#/migchanges?node=${NODE}&id=${id}`);
  timing('migchanges page ready (operator, one change open)', await ready(op, 'migchanges'));
  check('the operator sees the change in the list', (await op.locator(`.vrow [data-id="${id}"]`).count()) === 1);
  check('… its ten checks; "acknowledged" fails, naming acme\'s org',
    (await op.locator('[data-check]').count()) === 10 &&
    (await op.locator('[data-check="acknowledged"][data-pass="false"]').innerText()).includes(world.org.id));
  check('… no Acknowledge for an operator', (await op.locator('[data-action="ack"]').count()) === 0);
  await op.click('[data-action="apply"]');
  check('Apply while checks fail: the API\'s refusal (checks_failed), in words, beside the button',
    (await until(async () => (await op.locator('[data-form="apply"] .error').count()) === 1, 5000)) !== null);
  await snap(op, 'migchanges');
  await op.check('input[name="force"]');
  await op.click('[data-action="apply"]');
  check('… Force without a reason: the API\'s 400, next to the reason',
    (await until(async () => (await op.locator('.error[data-field="reason"]').count()) === 1, 5000)) !== null);
  check('… and nothing was approved', (await api(env.OP_TOKEN, 'GET', `/v1/mig-changes/${id}`)).body.state === 'planned');
  await op.uncheck('input[name="force"]');

  // ------------------------------------------------ acme's admin acknowledges
  const adm = await t.page('acme admin');
  await login(adm, env.ADMIN_TOKEN);
  await adm.goto(`${U}/#/migchanges?id=${id}`);
  await ready(adm, 'migchanges');
  check('acme\'s admin: Acknowledge, no Apply',
    (await adm.locator('[data-action="ack"]').count()) === 1 && (await adm.locator('[data-action="apply"]').count()) === 0);
  await adm.click('[data-action="ack"]');
  check('… unticked: the API\'s error next to the box it names',
    (await until(async () => (await adm.locator('.error[data-field="job_shutdown"]').count()) === 1, 5000)) !== null);
  await adm.check('input[name="job_shutdown"]');
  await adm.check('input[name="data_backup"]');
  await adm.click('[data-action="ack"]');
  check('… ticked: acknowledged, the page says so',
    (await until(async () => (await adm.locator(`[data-org="${world.org.id}"][data-acked="1"]`).count()) === 1, 5000)) !== null);
  const acked = (await api(env.OP_TOKEN, 'GET', `/v1/mig-changes/${id}`)).body;
  check('… as the API records it (job shutdown and data backup, by acme-admin)',
    acked.acks.length === 1 && acked.acks[0].org === world.org.id && acked.acks[0].job_shutdown &&
    acked.acks[0].data_backup && acked.acks[0].by === world.users.admin.id);

  // ------------------------------------------------ the operator applies, the agent makes it
  await op.goto(`${U}/#/migchanges?id=${id}`);
  await ready(op, 'migchanges');
  const pass = await until(async () => (await op.locator('[data-checks="pass"]').count()) === 1, (HOLD_S + 30) * 1000);
  check('every check passes once acme\'s 1g.18gb ended (the page reads them again)', pass !== null);
  await snap(op, 'migchange-detail');
  t0 = performance.now();
  await op.click('[data-action="apply"]');
  const applied = await until(async () => (await op.locator(`[data-detail="${id}"][data-state="applied"]`).count()) === 1, 30000);
  check('the operator applies it; the agent makes it; the page shows it applied (live)', applied !== null);
  timing('apply clicked → applied shown', performance.now() - t0);
  const done = (await api(env.OP_TOKEN, 'GET', `/v1/mig-changes/${id}`)).body;
  check('… as the API says: applied, approved by the operator',
    done.state === 'applied' && done.approved && done.approved.forced === false);
  check('… the new instances\' UUIDs on the page',
    done.result && (await op.locator('[data-result] td.mono').allInnerTexts()).sort().join() ===
      done.result.instances.map((i) => i.uuid).sort().join());

  // ------------------------------------------------ the GPU page draws the new layout
  const gpuNow = await until(async () => {
    const g = await gpu0();
    return sorted(g.observed.instances) === sorted(change.to.instances) ? g : null;
  }, 20000);
  check('the agent reports the new layout', gpuNow !== null);
  await op.goto(`${U}/${gpuHash}`);
  await ready(op, 'gpu');
  d = await until(async () => {
    const x = await drawn(op, 'current');
    return x && gpuNow && sorted(x.items) === sorted(gpuNow.observed.instances) ? x : null;
  }, 10000);
  check('the GPU page draws it: 4g.71gb at 0, 1g.18gb at 4, 5, 6, to scale, as GET /v1/nodes reports', d && toScale(d));
  check('… the 4g.71gb spans half the GPU', d && d.items.some((i) => i.profile === '4g.71gb' && Math.abs(i.width - 0.5) < 0.01));
  check('… no change planned any more; the last one named, applied',
    (await op.locator('[data-none]').count()) >= 1 && (await op.locator('.gpu-planned', { hasText: id }).count()) === 1);
  await op.locator('input[name=q]').blur();
  await snap(op, 'gpu');

  // ------------------------------------------------ the list's filter is in the URL
  await op.goto(`${U}/#/migchanges?state=applied`);
  await ready(op, 'migchanges');
  const appliedList = (await api(env.OP_TOKEN, 'GET', '/v1/mig-changes?state=applied')).body.items;
  check('#/migchanges?state=applied lists the applied changes, as the API does',
    (await op.locator('.vrow [data-id]').count()) === appliedList.length &&
    (await op.locator(`.vrow [data-id="${id}"]`).count()) === 1 &&
    (await op.inputValue('select[name="state"]')) === 'applied');
  await op.selectOption('select[name="state"]', 'planned');
  check('… choosing "planned" puts it in the URL and lists none',
    (await until(async () => op.url().includes('state=planned') &&
      (await op.locator('[data-page="migchanges"][data-ready="1"] [data-none]').count()) === 1, 5000)) !== null);
});
