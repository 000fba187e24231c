// org.mjs — the Organization page against the API's answers: acme's balance as GET
// /v1/orgs/acme/balance gives it, the ledger's rows as GET /v1/ledger/transfers lists them, an
// invoice opened printable and its CSV downloaded as GET /v1/invoices/{id}/csv gives it, the
// operator's top-up moving the cash, the org admin creating a member whose token is shown once
// and works, a member seeing no money, and globex's admin seeing nothing of acme. Run by
// browser_org.sh.
import { run, login as shellLogin, ready, check, shot, timing, api, env, world } from './lib.mjs';

const usd = (m) => (Number(m) / 1e6).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

async function open(page, hash) {
  const t0 = performance.now();
  await page.goto(`${env.U}/#/org${hash || ''}`);
  await ready(page, 'org');
  await page.waitForSelector('[data-page=org] [data-contracts] table, [data-page=org] [data-contracts] p.muted');
  return performance.now() - t0;
}

// The balance card's figures as shown: {cash_micros: "50,000.00", …}.
async function figures(page) {
  await page.waitForSelector('[data-balance] [data-k=cash_micros]');
  const out = {};
  for (const el of await page.locator('[data-balance] [data-k]').all()) out[await el.getAttribute('data-k')] = await el.innerText();
  return out;
}

// Log in and wait until the shell has chosen its first page (it moves the URL there), so
// that a goto after it is not undone by that move.
async function login(page, token) {
  await shellLogin(page, token);
  await page.waitForFunction(() => /^#\/\w/.test(location.hash));
}

run(async (t) => {
  const acme = world.org?.name || 'acme';
  // a few transfers to list, and last month's statement to open
  for (const [n, ref] of [[125000000, 'wire A'], [2500000, 'wire B']]) {
    await api(env.OP_TOKEN, 'POST', `/v1/orgs/${acme}/topups`, { amount_micros: n, reference: ref });
  }
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - 1);
  // a reservation, so that the ledger has a charge and the limits a use
  const hour = (n) => new Date((Math.floor(Date.now() / 3.6e6) + n) * 3.6e6).toISOString().replace(/\.\d+Z$/, 'Z');
  const req = (await api(env.ADMIN_TOKEN, 'POST', '/v1/requests', { kind: 'gpu', count: 1, model: 'A100-80GB', start: hour(2), end: hour(26) })).body.id;
  const flow = [];
  for (const [tok, verb] of [[env.OP_TOKEN, 'quote'], [env.OP_TOKEN, 'approve'], [env.ADMIN_TOKEN, 'accept'], [env.OP_TOKEN, 'confirm']]) {
    flow.push((await api(tok, 'POST', `/v1/requests/${req}/${verb}`, {})).status);
  }
  check(`set-up: a reservation for acme through the API (${flow})`, flow.join() === '200,200,200,201');
  const made = await api(env.OP_TOKEN, 'POST', `/v1/orgs/${acme}/invoices`, { month: d.toISOString().slice(0, 7) });
  const inv = made.status === 201 ? made.body : (await api(env.OP_TOKEN, 'GET', `/v1/invoices/${made.body.error?.details?.invoice}`)).body;

  // the org admin's view: balance and ledger as the API has them
  const adm = await t.page('org admin');
  await login(adm, env.ADMIN_TOKEN);
  timing('org page ready (org admin, from navigation)', await open(adm));
  const bal = (await api(env.ADMIN_TOKEN, 'GET', `/v1/orgs/${acme}/balance`)).body;
  const shown = await figures(adm);
  check(`the balance shown is the API's (cash ${usd(bal.cash_micros)}, available ${usd(bal.available_micros)})`,
    shown.cash_micros === usd(bal.cash_micros) && shown.available_micros === usd(bal.available_micros) &&
      shown.credit_limit_micros === usd(bal.credit_limit_micros) && shown.accrued_micros === usd(bal.accrued_micros));
  const ledger = (await api(env.ADMIN_TOKEN, 'GET', `/v1/ledger/transfers?org=${acme}&limit=500`)).body.items;
  await adm.waitForSelector('[data-ledger] .vrow');
  const rowsShown = async () => ({
    ids: await adm.locator('[data-ledger] .vrow [data-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id'))),
    amounts: await adm.locator('[data-ledger] .vrow [data-amount]').evaluateAll((els) => els.map((e) => e.textContent)),
  });
  const top = await rowsShown();
  check(`the ledger's rows are the API's ${ledger.length} transfers in its order, with their amounts (${top.ids.length} rendered)`,
    top.ids.length >= Math.min(ledger.length, 10) && top.ids.length <= ledger.length &&
      top.ids.every((id, i) => id === String(ledger[i].id) && top.amounts[i].includes(usd(ledger[i].amount_micros))));
  await adm.locator('[data-ledger] .vbox').evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await adm.waitForFunction((id) => document.querySelector(`[data-ledger] .vrow [data-id="${id}"]`), String(ledger[ledger.length - 1].id));
  const end = await rowsShown();
  check('scrolled to its end, the ledger shows the API\'s last transfer last',
    end.ids[end.ids.length - 1] === String(ledger[ledger.length - 1].id));
  check('an org admin gets no operator controls (top-up, limits, invoice issue)',
    await adm.locator('[data-action=topup], [data-action=set-limits], [data-action=create-invoice]').count() === 0);

  // an invoice, printable, and its CSV
  await adm.click(`[data-invoices] tr[data-id="${inv.id}"] [data-action=open-invoice]`);
  await adm.waitForSelector('[data-document=invoice] .doc h1', { timeout: 10000 });
  const doc = await adm.locator('[data-document=invoice] .doc').innerText();
  check(`invoice ${inv.id} opens printable (its document names it and its month)`,
    doc.includes(String(inv.id)) && doc.includes(inv.month) && adm.url().includes(`invoice=${inv.id}`));
  const [dl] = await Promise.all([adm.waitForEvent('download'), adm.click('[data-action=csv]')]);
  const csv = await (await import('node:fs/promises')).readFile(await dl.path(), 'utf8');
  const apiCsv = (await api(env.ADMIN_TOKEN, 'GET', `/v1/invoices/${inv.id}/csv`)).body;
  check('Download CSV saves the API\'s CSV of the invoice', csv === apiCsv && csv.startsWith('invoice,org,'));
  await adm.evaluate(() => window.scrollTo(0, 0));
  await shot(adm, 'invoice');

  // the org admin creates a member: the token is shown once and works
  const newName = `member-${Date.now() % 1000000}`;
  await adm.fill('[data-members] input[name=name]', newName);
  await adm.click('[data-action=create-user]');
  await adm.waitForSelector('[data-token]', { timeout: 10000 });
  const tok = await adm.locator('[data-token]').innerText();
  const who = await api(tok, 'GET', '/v1/me');
  check('a new member\'s token is shown and works (GET /v1/me: member of acme)',
    /^al_[A-Za-z0-9_-]{43}$/.test(tok) && who.status === 200 && who.body.user.role === 'member' && who.body.user.org === world.org?.id);
  check('the members list shows the new member', await adm.locator('[data-members] tr', { hasText: newName }).count() === 1);
  await adm.reload();
  await ready(adm, 'org');
  await adm.waitForSelector('[data-members] tr[data-id]');
  check('after a reload the token is gone from the page', await adm.locator('[data-token]').count() === 0);

  // the operator picks acme, tops it up
  const op = await t.page('operator');
  await login(op, env.OP_TOKEN);
  timing('org page ready (operator, from navigation)', await open(op, `?org=${acme}`));
  const before = (await api(env.OP_TOKEN, 'GET', `/v1/orgs/${acme}/balance`)).body;
  await op.fill('input[name=amount_micros]', '100.25');
  await op.fill('input[name=reference]', 'browser test');
  await op.click('[data-action=topup]');
  await op.waitForSelector('.topup [data-done]', { timeout: 10000 });
  const after = (await api(env.OP_TOKEN, 'GET', `/v1/orgs/${acme}/balance`)).body;
  check('the operator\'s top-up of 100.25 reached the org\'s cash',
    Number(after.cash_micros) - Number(before.cash_micros) === 100250000);
  await op.waitForFunction((v) => document.querySelector('[data-balance] [data-k=cash_micros]')?.textContent === v, usd(after.cash_micros));
  check('the balance shown follows the top-up', (await figures(op)).cash_micros === usd(after.cash_micros));
  await op.evaluate(() => window.scrollTo(0, 0));
  await shot(op, 'org');
  await op.click(`[data-invoices] tr[data-id="${inv.id}"] [data-action=open-invoice]`);
  await op.click('[data-action=issue]');
  const issued = await op.waitForSelector(`[data-invoices] tr[data-id="${inv.id}"] .badge-issued`, { timeout: 10000 }).then(() => true, () => false);
  const invNow = (await api(env.OP_TOKEN, 'GET', `/v1/invoices/${inv.id}`)).body;
  check(`the operator issues ${inv.kind} ${inv.id} from the page (the API: ${invNow.state})`, issued && invNow.state === 'issued');
  check('an issued statement offers no second Issue and no Mark paid (a statement is never paid)',
    await op.locator('[data-action=issue], [data-action=pay]').count() === 0);
  await op.fill('input[name=amount_micros]', '-5');
  await op.click('[data-action=topup]');
  check('a bad amount is refused next to its field',
    await op.locator('.error[data-field=amount_micros]').count() === 1);

  // a member: the org and its contracts, no money
  const mem = await t.page('member');
  await login(mem, env.MEMBER_TOKEN);
  await open(mem);
  check('a member sees the contracts but no balance, ledger, invoices or members',
    await mem.locator('[data-contracts] tr[data-id]').count() >= 1 &&
      await mem.locator('[data-balance], [data-ledger], [data-invoices], [data-members]').count() === 0);
  check('the API refuses a member the balance (403)', (await api(env.MEMBER_TOKEN, 'GET', `/v1/orgs/${acme}/balance`)).status === 403);

  // another org's admin: its own org, nothing of acme's, even when the URL names acme
  const other = await t.page('globex admin');
  await login(other, env.OTHER_ADMIN_TOKEN);
  await open(other, `?org=${acme}&invoice=${inv.id}`);
  const text = await other.locator('[data-page=org]').innerText();
  check('globex\'s admin sees globex, never acme, its money or its invoice',
    (await other.getAttribute('[data-page=org]', 'data-org')) === world.other_org?.id &&
      !/acme/i.test(text) && !text.includes(usd(after.cash_micros)) && await other.locator('[data-document=invoice]').count() === 0);
  const [b, i] = [await api(env.OTHER_ADMIN_TOKEN, 'GET', `/v1/orgs/${acme}/balance`), await api(env.OTHER_ADMIN_TOKEN, 'GET', `/v1/invoices/${inv.id}`)];
  check(`the API answers globex's admin 404 for acme's balance and invoice (${b.status}, ${i.status})`, b.status === 404 && i.status === 404);
});
