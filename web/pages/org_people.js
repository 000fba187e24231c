// org_people.js — the Organization page's live numbers and people: the balance (cash, credit
// limit, available, accrued, owed) with the operator's top-up, the contract's limits beside
// what the org uses of each with the operator's form to set them (an amendment of the
// contract in force), and the members with the form that creates one and shows its token once.
import { html, useEffect, useState } from '../lib/html.js';
import { api, apiAll } from '../lib/api.js';
import { Busy, ErrorText, FormError, dur, money, when } from '../lib/ui.js';
import { ActionError } from './requests_words.js';

const MAX_I64 = 9223372036854775807;

// "12.50" (USD) → 12500000 micro-units, exactly (no float rounding of the cents).
export function toMicros(s) {
  const m = /^\s*(-?)(\d{1,12})(?:\.(\d{1,6}))?\s*$/.exec(String(s));
  if (!m) return NaN;
  return (m[1] ? -1 : 1) * (Number(m[2]) * 1e6 + Number((m[3] || '').padEnd(6, '0')));
}

function TopUp({ org, onChange }) {
  const [amount, setAmount] = useState('');
  const [reference, setReference] = useState('');
  const [err, setErr] = useState(null);
  const [done, setDone] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setErr(null);
    setDone('');
    const micros = toMicros(amount);
    if (!(micros > 0)) {
      setErr({ field: 'amount_micros', message: 'an amount in USD, such as 5000 or 1234.56', details: {} });
      return;
    }
    try {
      const r = await api('POST', `/v1/orgs/${org.id}/topups`, { amount_micros: micros, ...(reference.trim() ? { reference: reference.trim() } : {}) });
      setDone(`Topped up ${money(r.transfer.amount_micros)} USD (transfer ${r.transfer.id}).`);
      setAmount('');
      setReference('');
      onChange();
    } catch (x) {
      setErr(x);
    }
  };
  return html`<form class="toolbar topup" onSubmit=${submit}>
    <label class="field"><span>Top up (USD)</span>
      <input name="amount_micros" inputmode="decimal" placeholder="5000.00" value=${amount} onInput=${(e) => setAmount(e.currentTarget.value)} />
      <${ErrorText} err=${err} field="amount_micros" /></label>
    <label class="field"><span>Reference</span>
      <input name="reference" placeholder="wire 2026-12-07" value=${reference} onInput=${(e) => setReference(e.currentTarget.value)} /></label>
    <button type="submit" data-action="topup">Top up</button>
    <${FormError} err=${err} fields=${['amount_micros']} />
    ${done ? html`<p class="ok" data-done>${done}</p>` : null}
  </form>`;
}

export function Balance({ me, org, tick, onChange }) {
  const [b, setB] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    api('GET', `/v1/orgs/${org.id}/balance`).then(setB, setErr);
  }, [org.id, tick]);
  const num = (v) => (Number(v) >= MAX_I64 ? 'unlimited' : `${money(v)}`);
  return html`<div class="card" data-balance>
    <h2>Balance <span class="muted">USD</span></h2>
    <${FormError} err=${err} />
    ${!b && !err ? html`<${Busy} />` : null}
    ${b
      ? html`<div class="figures">
          <div><span>Available</span><b data-k="available_micros">${num(b.available_micros)}</b></div>
          <div><span>Cash</span><b data-k="cash_micros">${money(b.cash_micros)}</b></div>
          <div><span>Credit limit</span><b data-k="credit_limit_micros">${Number(b.credit_limit_micros) < 0 ? 'none' : money(b.credit_limit_micros)}</b></div>
          <div><span>Accrued</span><b data-k="accrued_micros">${money(b.accrued_micros)}</b></div>
          <div><span>Owed on invoices</span><b data-k="receivable_micros">${money(Number(b.receivable_micros) ? -Number(b.receivable_micros) : 0)}</b></div>
        </div>`
      : null}
    ${me.role === 'operator' ? html`<${TopUp} org=${org} onChange=${onChange} />` : null}
  </div>`;
}

// The limits' rows: label, the value in words, what is in use, and the amend field it sets.
function limitRows(l) {
  const gpus = (share) => (share === null ? null : `${(share / l.max_concurrent_gpus.share_per_gpu).toFixed(share % 27720 ? 2 : 0)} GPU`);
  const m = (v) => (v === null ? null : `${money(v)} USD`);
  return [
    ['Credit limit', m(l.credit_limit.value_micros), `owed ${money(l.credit_limit.owed_micros)}, available ${l.credit_limit.available_micros === null ? 'unlimited' : money(l.credit_limit.available_micros)}`, 'credit_limit_micros'],
    ['GPUs held at once', gpus(l.max_concurrent_gpus.value_share), gpus(l.max_concurrent_gpus.in_use_share), 'max_concurrent_gpus'],
    ['Longest reservation', l.max_reservation_length.value_s === null ? null : dur(l.max_reservation_length.value_s), '', 'max_reservation_s'],
    ['Reservations not started', l.max_reservations_ahead.value, String(l.max_reservations_ahead.in_use), 'max_reservations_ahead'],
    ['Monthly spending cap', m(l.monthly_spend_cap.value_micros), l.monthly_spend_cap.in_use_micros === null ? '' : `${money(l.monthly_spend_cap.in_use_micros)} this month`, 'monthly_spend_cap_micros'],
  ];
}

// The form's text → the amendment's field: money in USD, GPUs whole, the length in hours;
// an empty box leaves the limit as it is, "none" removes it (the API's -1).
function amendValue(field, s) {
  const t = s.trim().toLowerCase();
  if (t === '') return undefined;
  if (t === 'none') return -1;
  if (field.endsWith('_micros')) return toMicros(t);
  if (field === 'max_reservation_s') return Math.round(Number(t) * 3600);
  return Number(t);
}

function SetLimits({ contract, onChange }) {
  const [form, setForm] = useState({});
  const [err, setErr] = useState(null);
  const fields = [['credit_limit_micros', 'Credit limit (USD)'], ['max_concurrent_gpus', 'GPUs at once'],
    ['max_reservation_s', 'Longest (hours)'], ['max_reservations_ahead', 'Not started'], ['monthly_spend_cap_micros', 'Monthly cap (USD)']];
  const submit = async (e) => {
    e.preventDefault();
    const body = {};
    for (const [f] of fields) {
      const v = amendValue(f, form[f] || '');
      if (v !== undefined) body[f] = v;
    }
    setErr(null);
    try {
      await api('POST', `/v1/contracts/${contract.id}/amend`, body);
      setForm({});
      onChange();
    } catch (x) {
      setErr(x);
    }
  };
  return html`<form class="setlimits" onSubmit=${submit}>
    <p class="muted">Set limits: an amendment of contract ${contract.id} (a new version). Empty keeps a limit, <code>none</code> removes it.</p>
    <div class="toolbar">${fields.map(([f, label]) => html`<label class="field"><span>${label}</span>
      <input name=${f} size="9" value=${form[f] || ''} onInput=${(e) => setForm({ ...form, [f]: e.currentTarget.value })} />
      <${ErrorText} err=${err} field=${f} /></label>`)}
      <button type="submit" data-action="set-limits">Set limits</button></div>
    <${FormError} err=${err} fields=${fields.map(([f]) => f)} />
  </form>`;
}

export function Limits({ me, org, tick, onChange }) {
  const [l, setL] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    api('GET', `/v1/orgs/${org.id}/limits`).then(setL, setErr);
  }, [org.id, tick]);
  return html`<div class="card" data-limits>
    <h2>Limits ${l && l.contract ? html`<span class="muted">contract ${l.contract.id} v${l.contract.version}, ${l.contract.terms}</span>` : null}</h2>
    <${FormError} err=${err} />
    ${!l && !err ? html`<${Busy} />` : null}
    ${l && !l.contract ? html`<p class="muted">No contract in force: nothing can be confirmed for this org.</p>` : null}
    ${l
      ? html`<table class="t"><thead><tr><th>Limit</th><th>Allowed</th><th>In use</th></tr></thead><tbody>
          ${limitRows(l).map(([label, value, use, f]) => html`<tr data-limit=${f}><td>${label}</td><td>${value === null ? html`<span class="muted">not set</span>` : value}</td><td class="muted">${use}</td></tr>`)}
        </tbody></table>`
      : null}
    ${me.role === 'operator' && l && l.contract ? html`<${SetLimits} contract=${l.contract} onChange=${onChange} />` : null}
  </div>`;
}

function NewMember({ me, org, onMade }) {
  const [form, setForm] = useState({ name: '', role: 'member' });
  const [err, setErr] = useState(null);
  const [made, setMade] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setErr(null);
    try {
      const body = { name: form.name.trim(), role: form.role };
      if (me.role === 'operator') body.org = org.id;
      const r = await api('POST', '/v1/users', body);
      setMade(r);
      setForm({ name: '', role: 'member' });
      onMade();
    } catch (x) {
      setErr(x);
    }
  };
  return html`<form class="toolbar" onSubmit=${submit}>
    <label class="field"><span>New user's name</span>
      <input name="name" required maxlength="64" placeholder="jane" value=${form.name} onInput=${(e) => setForm({ ...form, name: e.currentTarget.value })} />
      <${ErrorText} err=${err} field="name" /></label>
    <label class="field"><span>Role</span>
      <select name="role" value=${form.role} onChange=${(e) => setForm({ ...form, role: e.currentTarget.value })}>
        <option value="member">member</option><option value="org_admin">org admin</option></select></label>
    <button type="submit" data-action="create-user">Create</button>
    <${FormError} err=${err} fields=${['name']} />
    ${made
      ? html`<div class="card token" data-token-once role="status">
          <p><b>${made.user.name}</b>'s token — shown this once; the server keeps only its hash. Hand it over now:</p>
          <p><code data-token>${made.token}</code>
            <button type="button" class="secondary" data-action="copy" onClick=${() => navigator.clipboard && navigator.clipboard.writeText(made.token)}>Copy</button>
            <button type="button" class="link" data-action="dismiss" onClick=${() => setMade(null)}>Done</button></p>
        </div>`
      : null}
  </form>`;
}

export function Members({ me, org }) {
  const [users, setUsers] = useState(null);
  const [err, setErr] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    apiAll(`/v1/users?org=${encodeURIComponent(org.id)}`, 5000).then(setUsers, (e) => (setErr(e), setUsers([])));
  }, [org.id, tick]);
  return html`<div class="card" data-members>
    <h2>Members <span class="muted">${users ? users.length : ''}</span></h2>
    <p class="muted">Each user is one API token, for the dashboard and the CLI; a token is shown only when its user is created.</p>
    <${ActionError} err=${err} />
    ${!users ? html`<${Busy} />` : html`<table class="t"><thead><tr><th>Name</th><th>Role</th><th>Id</th><th>Created</th></tr></thead><tbody>
      ${users.map((u) => html`<tr data-id=${u.id}><td>${u.name}</td><td>${u.role === 'org_admin' ? 'org admin' : u.role}</td>
        <td class="mono muted">${u.id}</td><td>${when(u.created_at)}</td></tr>`)}</tbody></table>`}
    <${NewMember} me=${me} org=${org} onMade=${() => setTick((t) => t + 1)} />
  </div>`;
}
