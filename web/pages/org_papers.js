// org_papers.js — the Organization page's paperwork: its contracts (each version's printable
// document), its invoices and statements (open one printable, download its CSV — fetched
// with the token and saved from a blob, since the token never goes in a URL — and, for the
// operator, build one for an ended month, issue it, mark it paid), and the ledger's transfers
// of the org, oldest first, in a list that renders only its visible rows.
import { html, useEffect, useState } from '../lib/html.js';
import { api, apiAll } from '../lib/api.js';
import { href, setParams } from '../lib/route.js';
import { Badge, Busy, ErrorText, FormError, Printable, VirtualList, money, when } from '../lib/ui.js';
import { ActionError } from './requests_words.js';

const LEDGER_MAX = 50000;

// GET path (an HTML document) → {doc} or {err}, again when path changes; null while reading.
function useDoc(path) {
  const [d, setD] = useState(null);
  useEffect(() => {
    setD(null);
    if (!path) return;
    api('GET', path, undefined, { text: true }).then((doc) => setD({ doc }), (err) => setD({ err }));
  }, [path]);
  return d;
}

function Doc({ path, title, kind }) {
  const d = useDoc(path);
  if (!d) return html`<${Busy} what="Reading the document" />`;
  if (d.err) return html`<${FormError} err=${d.err} />`;
  return html`<div data-document=${kind}><${Printable} doc=${d.doc} title=${title} /></div>`;
}

export function Contracts({ org, params }) {
  const [items, setItems] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    apiAll(`/v1/contracts?org=${encodeURIComponent(org.id)}`, 1000).then(setItems, (e) => (setErr(e), setItems([])));
  }, [org.id]);
  const open = params.contract || '';
  return html`<div class="card" data-contracts>
    <h2>Contracts</h2>
    <${FormError} err=${err} />
    ${!items ? html`<${Busy} />` : !items.length ? html`<p class="muted">No contract: quotes are at list price and cannot be confirmed.</p>` : html`
      <table class="t"><thead><tr><th>Contract</th><th>Version</th><th>Terms</th><th>Valid</th><th>Self-service</th><th>State</th><th></th></tr></thead><tbody>
      ${items.map((c) => html`<tr data-id=${c.id}><td>${c.id}</td><td>v${c.version}</td><td>${c.terms}</td>
        <td>${when(c.valid_from)} → ${when(c.valid_to)}</td><td>${c.self_service ? 'yes' : 'no'}</td>
        <td>${c.ended_at ? html`<${Badge} state="ended" /> ${when(c.ended_at)}` : Date.parse(c.valid_to) < Date.now() ? 'expired' : html`<${Badge} state="active" />`}</td>
        <td><button type="button" class="link" data-action="contract-document" onClick=${() => setParams({ contract: open === String(c.id) ? '' : c.id })}>
          ${open === String(c.id) ? 'Hide' : 'Document'}</button></td></tr>`)}
      </tbody></table>`}
    ${open ? html`<${Doc} path=${`/v1/contracts/${encodeURIComponent(open)}/document`} title=${`Contract ${open}`} kind="contract" />` : null}
  </div>`;
}

// The invoice's CSV, fetched with the token and saved through a blob URL.
async function downloadCsv(inv) {
  const text = await api('GET', `/v1/invoices/${inv.id}/csv`, undefined, { text: true });
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `invoice-${inv.id}-${inv.month || 'period'}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function InvoiceTools({ me, inv, onChange }) {
  const [err, setErr] = useState(null);
  const step = async (verb) => {
    setErr(null);
    try {
      if (verb === 'csv') await downloadCsv(inv);
      else {
        await api('POST', `/v1/invoices/${inv.id}/${verb}`, {});
        onChange();
      }
    } catch (x) {
      setErr(x);
    }
  };
  const op = me.role === 'operator';
  return html`<div class="toolbar noprint">
    <button type="button" class="secondary" data-action="csv" onClick=${() => step('csv')}>Download CSV</button>
    ${op && inv.state === 'open' ? html`<button type="button" data-action="issue" onClick=${() => step('issue')}>Issue</button>` : null}
    ${op && inv.state === 'issued' && inv.payer === 'org_accrued' && inv.total_micros ? html`<button type="button" data-action="pay" onClick=${() => step('pay')}>Mark paid</button>` : null}
    <${ActionError} err=${err} />
  </div>`;
}

// The last ended month, "2026-11", the one an operator most likely invoices.
function lastMonth() {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return d.toISOString().slice(0, 7);
}

function NewInvoice({ org, onChange }) {
  const [month, setMonth] = useState(lastMonth());
  const [err, setErr] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setErr(null);
    try {
      const inv = await api('POST', `/v1/orgs/${org.id}/invoices`, { month: month.trim() });
      setParams({ invoice: inv.id });
      onChange();
    } catch (x) {
      setErr(x);
    }
  };
  return html`<form class="toolbar" onSubmit=${submit}>
    <label class="field"><span>Month</span><input name="month" size="8" placeholder="2026-11" value=${month} onInput=${(e) => setMonth(e.currentTarget.value)} />
      <${ErrorText} err=${err} field="month" /></label>
    <button type="submit" data-action="create-invoice">Build invoice</button>
    <${FormError} err=${err} fields=${['month']} />
  </form>`;
}

export function Invoices({ me, org, params, tick, onChange }) {
  const [items, setItems] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    apiAll(`/v1/orgs/${org.id}/invoices`, 5000).then((all) => setItems(all.reverse()), (e) => (setErr(e), setItems([])));
  }, [org.id, tick]);
  const open = params.invoice || '';
  const chosen = items && items.find((i) => String(i.id) === open);
  return html`<div class="card" data-invoices>
    <h2>Invoices and statements</h2>
    <${FormError} err=${err} />
    ${!items ? html`<${Busy} />` : !items.length ? html`<p class="muted">None yet.</p>` : html`
      <table class="t"><thead><tr><th>No.</th><th>Month</th><th>Kind</th><th>State</th><th class="num">Lines</th><th class="num">Total USD</th><th>Created</th><th></th></tr></thead><tbody>
      ${items.map((i) => html`<tr data-id=${i.id} class=${String(i.id) === open ? 'sel' : ''}><td>${i.id}</td><td>${i.month || `${when(i.period_from)} →`}</td>
        <td>${i.payer === 'org_accrued' ? 'invoice' : 'statement'}</td><td><${Badge} state=${i.state} /></td><td class="num">${i.lines}</td>
        <td class="num">${money(i.total_micros)}</td><td>${when(i.created_at)}</td>
        <td><button type="button" class="link" data-action="open-invoice" onClick=${() => setParams({ invoice: String(i.id) === open ? '' : i.id })}>
          ${String(i.id) === open ? 'Hide' : 'Open'}</button></td></tr>`)}
      </tbody></table>`}
    ${me.role === 'operator' ? html`<${NewInvoice} org=${org} onChange=${onChange} />` : null}
    ${chosen
      ? html`<div data-invoice=${chosen.id}><h3>${chosen.payer === 'org_accrued' ? 'Invoice' : 'Statement'} ${chosen.id}, ${chosen.month}</h3>
          <${InvoiceTools} me=${me} inv=${chosen} onChange=${onChange} />
          <${Doc} key=${chosen.state} path=${`/v1/invoices/${chosen.id}/document`} title=${`Invoice ${chosen.id}`} kind="invoice" /></div>`
      : null}
  </div>`;
}

// A transfer from the org's side: + when money comes to one of its accounts, − when it goes.
const ORG_ACCOUNTS = ['org_cash', 'org_accrued', 'org_receivable'];
function signed(t) {
  const into = ORG_ACCOUNTS.includes(t.credit), out = ORG_ACCOUNTS.includes(t.debit);
  if (into && !out) return Number(t.amount_micros);
  if (out && !into) return -Number(t.amount_micros);
  return null;
}

export function Ledger({ org, tick }) {
  const [items, setItems] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    apiAll(`/v1/ledger/transfers?org=${encodeURIComponent(org.id)}`, LEDGER_MAX).then(setItems, (e) => (setErr(e), setItems([])));
  }, [org.id, tick]);
  return html`<div class="card" data-ledger>
    <h2>Ledger <span class="muted">${items ? `${items.length} transfer${items.length === 1 ? '' : 's'}, oldest first` : ''}</span></h2>
    <${FormError} err=${err} />
    ${!items ? html`<${Busy} what="Reading the ledger" />` : !items.length ? html`<p class="muted">No transfers yet.</p>` : html`
      <${VirtualList} label="ledger" items=${items} rowHeight=${30} height=${Math.min(items.length * 30 + 2, 420)}
        header=${html`<span class="cnum">No.</span><span class="c2">At</span><span class="c2">Kind</span><span class="c3">From → to</span><span class="c2">Reservation</span><span class="cnum">Amount USD</span>`}
        render=${(t) => {
          const s = signed(t);
          return html`<span class="cnum mono" data-id=${t.id}>${t.id}</span><span class="c2">${when(t.at)}</span><span class="c2">${t.kind}</span>
            <span class="c3 mono">${t.debit} → ${t.credit}</span><span class="c2 mono">${t.reservation ? html`<a href=${href('reservations', { id: t.reservation })}>${t.reservation}</a>` : '—'}</span>
            <span class=${`cnum ${s === null ? '' : s < 0 ? 'bad' : 'ok'}`} data-amount=${t.amount_micros}>${s === null ? money(t.amount_micros) : `${s > 0 ? '+' : '−'}${money(Math.abs(s))}`}</span>`;
        }} />`}
  </div>`;
}
