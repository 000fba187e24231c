// requests.mjs — the request flow end to end through the Requests page, every role's part:
// acme's org admin files a request (the API), the operator quotes and approves it in the page,
// the admin accepts it there, the operator confirms it and the page links to the reservation
// (GET /v1/reservations/{id} has it); the quote's lines and its printable document match the
// API's; a member sees no controls and the API refuses the member's approve and confirm; a
// reject with a reason; a confirm the API refuses (globex has no contract) shown in words next
// to its field; globex's admin sees nothing of acme's request. Run by browser_requests.sh.
import { run, login as shellLogin, ready, check, shot, timing, api, env, world } from './lib.mjs';

const usd = (m) => (Number(m) / 1e6).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const hour = (s) => new Date((Math.floor(Date.now() / 3.6e6) + s) * 3.6e6).toISOString().replace(/\.\d+Z$/, 'Z');

async function file(token, body) {
  const r = await api(token, 'POST', '/v1/requests', body);
  if (r.status !== 201) throw new Error(`POST /v1/requests answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.id;
}

// Open the request's page and wait until it is ready; the ms it took.
async function open(page, id) {
  const t0 = performance.now();
  await page.goto(`${env.U}/#/requests?id=${id}`);
  await ready(page, 'requests');
  return performance.now() - t0;
}

async function state(id) {
  return (await api(env.OP_TOKEN, 'GET', `/v1/requests/${id}`)).body.state;
}

async function stateShown(page, s) {
  await page.waitForSelector(`[data-detail] h1 .badge-${s}`, { timeout: 10000 });
  return true;
}

// Log in and wait until the shell has chosen its first page (it moves the URL there), so
// that a goto after it is not undone by that move.
async function login(page, token) {
  await shellLogin(page, token);
  await page.waitForFunction(() => /^#\/\w/.test(location.hash));
}

run(async (t) => {
  const ask = { kind: 'gpu', count: 2, model: 'H100-80GB', start: hour(3), end: hour(27), image: 'nvcr.io/nvidia/pytorch:24.05-py3', workload: 'fine-tuning' };
  const id = await file(env.ADMIN_TOKEN, ask);
  // a queue to look at: a MIG request quoted, one approved, globex's submitted
  const mig = await file(env.ADMIN_TOKEN, { kind: 'mig', count: 2, model: 'H200-141GB', profile: '1g.18gb', duration_hours: 48, earliest_start: hour(6) });
  await api(env.OP_TOKEN, 'POST', `/v1/requests/${mig}/quote`, {});
  const a100 = await file(env.ADMIN_TOKEN, { kind: 'gpu', count: 1, model: 'A100-80GB', start: hour(8), end: hour(20), workload: 'inference' });
  await api(env.OP_TOKEN, 'POST', `/v1/requests/${a100}/quote`, {});
  await api(env.OP_TOKEN, 'POST', `/v1/requests/${a100}/approve`, {});
  const gq = await file(env.OTHER_ADMIN_TOKEN, { kind: 'gpu', count: 1, model: 'L40S-48GB', duration_hours: 4, earliest_start: hour(12) });

  // the operator's queue
  const op = await t.page('operator');
  await login(op, env.OP_TOKEN);
  const t0 = performance.now();
  await op.goto(`${env.U}/#/requests`);
  await ready(op, 'requests');
  timing('requests queue ready (operator, from navigation)', performance.now() - t0);
  const listed = await op.locator('.vrow [data-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
  check('the operator\'s queue lists every org\'s requests (acme\'s and globex\'s)',
    JSON.stringify([...listed].sort()) === JSON.stringify([gq, a100, mig, id].sort()));
  check('the chips count them by state (all 4, submitted 2, quoted 1, approved 1)',
    /all\s*4/.test(await op.locator('[data-state=""]').innerText()) && /2/.test(await op.locator('[data-state=submitted]').innerText()) &&
      /1/.test(await op.locator('[data-state=approved]').innerText()));
  check('the queue says the operator quotes it next',
    (await op.locator('.vrow', { has: op.locator(`[data-id="${id}"]`) }).innerText()).includes('operator quotes'));
  await op.evaluate(() => window.scrollTo(0, 0));
  await shot(op, 'requests');

  // quote and approve in the page
  const t1 = performance.now();
  await op.click(`.vrow [data-id="${id}"]`);
  await op.waitForSelector(`[data-detail="${id}"][data-ready="1"]`);
  timing('request detail ready (operator, from the click)', performance.now() - t1);
  check('a submitted request offers the operator Quote, not Approve or Confirm',
    await op.locator('[data-action=quote]').count() === 1 && await op.locator('[data-action=approve], [data-action=confirm]').count() === 0);
  await op.click('[data-action=quote]');
  check('Quote: the page shows the request quoted', await stateShown(op, 'quoted'));
  const quoted = (await api(env.OP_TOKEN, 'GET', `/v1/requests/${id}`)).body;
  check('Quote: the API has the request quoted', quoted.state === 'quoted' && quoted.quote);
  const lines = await op.locator('[data-lines] tbody tr').allInnerTexts();
  check(`the page shows the quote's ${quoted.quote.lines.length} line(s) with the API's amounts`,
    lines.length === quoted.quote.lines.length &&
      quoted.quote.lines.every((l, i) => lines[i].includes(l.what) && lines[i].includes(usd(l.amount_micros))));
  check(`the page's total is the API's (${usd(quoted.quote.total_micros)})`,
    (await op.locator('[data-total]').innerText()) === usd(quoted.quote.total_micros));
  const avail = (await api(env.OP_TOKEN, 'GET', '/v1/orgs/acme/balance')).body.available_micros;
  const funds = await op.waitForSelector('[data-funds]', { timeout: 10000 }).then((el) => el.innerText(), () => '');
  check(`beside the quote, the org's funds as the API has them (${usd(avail)} available)`, funds.includes(usd(avail)));
  await op.click('[data-action=approve]');
  check('Approve: the page shows it approved', await stateShown(op, 'approved'));
  check('Approve: the API has it approved', (await state(id)) === 'approved');
  check('an approved request offers the operator neither Accept nor Confirm',
    await op.locator('[data-action=accept], [data-action=confirm]').count() === 0);
  check('the history lists submitted, quoted, approved',
    (await op.locator('[data-history] li').count()) === 3);
  await op.evaluate(() => window.scrollTo(0, 0));
  await shot(op, 'request-detail');

  // the printable quote
  await op.click('[data-action=document]');
  await op.waitForSelector('[data-document=quote] .doc h1', { timeout: 10000 });
  const doc = await op.locator('[data-document=quote] .doc').innerText();
  check('the quote document names the quote and shows its lines',
    doc.includes(quoted.quote.id) && quoted.quote.lines.every((l) => doc.includes(l.what)));
  check('the document is bookmarkable (?doc=1 in the URL)', op.url().includes('doc=1'));
  await op.evaluate(() => window.scrollTo(0, 0));
  await shot(op, 'quote');

  // a member only looks
  const mem = await t.page('member');
  await login(mem, env.MEMBER_TOKEN);
  await open(mem, id);
  check('a member sees the request but no action', await mem.locator('[data-no-actions]').count() === 1 &&
    await mem.locator('[data-actions] button').count() === 0);
  const mApprove = await api(env.MEMBER_TOKEN, 'POST', `/v1/requests/${id}/approve`, {});
  const mConfirm = await api(env.MEMBER_TOKEN, 'POST', `/v1/requests/${id}/confirm`, {});
  check(`the API refuses the member's approve and confirm (${mApprove.status}, ${mConfirm.status})`,
    mApprove.status === 403 && mConfirm.status === 403);

  // the org admin accepts
  const adm = await t.page('org admin');
  await login(adm, env.ADMIN_TOKEN);
  timing('request detail ready (org admin, from navigation)', await open(adm, id));
  check('the org admin is offered Accept, not Approve or Confirm',
    await adm.locator('[data-action=accept]').count() === 1 && await adm.locator('[data-action=approve], [data-action=confirm]').count() === 0);
  await adm.click('[data-action=accept]');
  check('Accept: the page shows it accepted', await stateShown(adm, 'accepted'));
  check('Accept: the API has it accepted', (await state(id)) === 'accepted');

  // the operator confirms; the page links to the reservation
  const live = await op.waitForSelector('[data-action=confirm]', { timeout: 10000 }).then(() => true, () => false);
  check('the operator\'s open page learnt of the accept from the event stream and offers Confirm', live);
  if (!live) await open(op, id);
  await op.click('[data-action=confirm]');
  await op.waitForSelector('[data-reservation]', { timeout: 10000 });
  const done = (await api(env.OP_TOKEN, 'GET', `/v1/requests/${id}`)).body;
  const rsv = await api(env.OP_TOKEN, 'GET', `/v1/reservations/${done.reservation}`);
  check(`Confirm: the request is confirmed and reservation ${done.reservation} exists`,
    done.state === 'confirmed' && rsv.status === 200 && rsv.body.id === done.reservation);
  check('the page links to the reservation',
    (await op.getAttribute('[data-reservation] a', 'href')) === `#/reservations?id=${done.reservation}`);

  // reject with a reason, in the page
  const id2 = await file(env.ADMIN_TOKEN, { kind: 'gpu', count: 1, model: 'A100-80GB', start: hour(5), end: hour(9) });
  await open(op, id2);
  await op.click('[data-action=reject]');
  await op.fill('textarea[name=reason]', 'no A100 this week');
  await op.click('[data-action=reject-submit]');
  check('Reject: the page shows it rejected', await stateShown(op, 'rejected'));
  const rej = (await api(env.OP_TOKEN, 'GET', `/v1/requests/${id2}`)).body;
  check('Reject: the API has it rejected with the reason', rej.state === 'rejected' && rej.reason === 'no A100 this week');

  // a refusal in words: globex has no contract, so its request cannot be confirmed
  const g = await file(env.OTHER_ADMIN_TOKEN, { kind: 'gpu', count: 1, model: 'L40S-48GB', start: hour(4), end: hour(6) });
  await api(env.OP_TOKEN, 'POST', `/v1/requests/${g}/quote`, {});
  await api(env.OP_TOKEN, 'POST', `/v1/requests/${g}/approve`, {});
  await api(env.OTHER_ADMIN_TOKEN, 'POST', `/v1/requests/${g}/accept`, {});
  const refused = await api(env.OP_TOKEN, 'POST', `/v1/requests/${g}/confirm`, {});
  await open(op, g);
  await op.click('[data-action=confirm]');
  await op.waitForSelector('[data-actions] .error', { timeout: 10000 });
  const e = op.locator('[data-actions] .error');
  check(`a refused confirm shows the API's message next to its field (${refused.status} ${refused.body.error?.code}, field ${refused.body.error?.details?.field})`,
    refused.status === 409 && (await e.getAttribute('data-field')) === refused.body.error.details.field &&
      (await e.getAttribute('data-code')) === refused.body.error.code &&
      (await e.innerText()).includes(refused.body.error.message.replace(/ at \d{4}-.*$/, ''))); // the message names the instant

  // 402: the charge of a confirm beyond acme's cash + credit limit, in words
  const big = await file(env.ADMIN_TOKEN, { kind: 'gpu', count: 16, model: 'H100-80GB', start: hour(30), end: hour(30 + 60 * 24) });
  const steps = [await api(env.OP_TOKEN, 'POST', `/v1/requests/${big}/quote`, {}),
    await api(env.OP_TOKEN, 'POST', `/v1/requests/${big}/approve`, {}),
    await api(env.ADMIN_TOKEN, 'POST', `/v1/requests/${big}/accept`, {})].map((r) => r.status);
  check(`a request for 16 H100 for 60 days is quoted, approved, accepted (${steps})`, steps.every((c) => c === 200));
  await open(op, big);
  await op.click('[data-action=confirm]');
  const poor = op.locator('[data-actions] .error[data-code=insufficient_balance]');
  const bal = (await api(env.OP_TOKEN, 'GET', '/v1/orgs/acme/balance')).body;
  const total = (await api(env.OP_TOKEN, 'GET', `/v1/requests/${big}`)).body.quote?.total_micros;
  check(`a 402 insufficient_balance says the charge (${usd(total)}) and what is available (${usd(bal.available_micros)})`,
    await poor.waitFor({ timeout: 10000 }).then(() => true, () => false) &&
      (await poor.innerText()).includes(usd(total)) && (await poor.innerText()).includes(usd(bal.available_micros)));
  check('the refused confirm left the request accepted', (await state(big)) === 'accepted');
  await api(env.ADMIN_TOKEN, 'POST', `/v1/requests/${big}/cancel`, { reason: 'too dear' }); // frees its holds

  // 409 limit_exceeded: acme's contract allows one GPU at once; a quote for two is refused
  const amend = await api(env.OP_TOKEN, 'POST', `/v1/contracts/${world.contract_id}/amend`, { max_concurrent_gpus: 1 });
  const two = await file(env.ADMIN_TOKEN, { kind: 'gpu', count: 2, model: 'A100-80GB', start: hour(40), end: hour(44) });
  await open(op, two);
  await op.click('[data-action=quote]');
  const lim = op.locator('[data-actions] .error[data-code=limit_exceeded]');
  const limText = await lim.waitFor({ timeout: 10000 }).then(() => lim.innerText(), () => '');
  check(`a 409 limit_exceeded names the limit and its numbers in GPUs (amend ${amend.status})`,
    /most GPUs held at once/.test(limText) && /allows 1 GPU/.test(limText) && /asks for 2 GPU/.test(limText));
  await api(env.OP_TOKEN, 'POST', `/v1/contracts/${world.contract_id}/amend`, { max_concurrent_gpus: -1 });

  // another org's admin sees nothing of acme's request
  const other = await t.page('globex admin');
  await login(other, env.OTHER_ADMIN_TOKEN);
  await other.goto(`${env.U}/#/requests`);
  await ready(other, 'requests');
  check('globex\'s admin lists its own request and not acme\'s',
    await other.locator(`.vrow [data-id="${g}"]`).count() === 1 && await other.locator(`.vrow [data-id="${id}"]`).count() === 0);
  await open(other, id);
  const otherText = await other.locator('[data-page=requests]').innerText();
  check('globex\'s admin opening acme\'s request gets the API\'s not found and none of its data',
    (await other.locator('.error').count()) === 1 && !otherText.includes(world.org?.name || 'acme') && !otherText.includes('H100'));
  check('the API answers globex\'s admin 404 for it', (await api(env.OTHER_ADMIN_TOKEN, 'GET', `/v1/requests/${id}`)).status === 404);
  await api(env.OTHER_ADMIN_TOKEN, 'POST', `/v1/requests/${g}/cancel`, {}); // frees its holds
});
