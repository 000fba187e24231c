// requests_words.js — what the Requests and Organization pages say in words: a request's ask
// and window in one line, what it waits for at each state and from whom, and the API's
// refusals with their numbers (402 insufficient_balance, 409 limit_exceeded, no_capacity's
// reason and alternatives) instead of a bare code.
import { html } from '../lib/html.js';
import { dur, money, when } from '../lib/ui.js';

export const STATES = ['submitted', 'quoted', 'approved', 'accepted', 'confirmed', 'rejected', 'cancelled', 'expired'];

// "2 × H100-80GB", "1 × GPU with ≥ 40 GB", "2 × MIG 1g.18gb on H200-141GB".
export function ask(r) {
  if (r.kind === 'mig') {
    const what = r.profile || (r.instance_memory_gb ? `${r.instance_memory_gb} GB` : `${r.min_memory_gb || '?'} GB`);
    return `${r.count} × MIG ${what}${r.model ? ` on ${r.model}` : ''}`;
  }
  return `${r.count} × ${r.model || `GPU with ≥ ${r.min_memory_gb} GB`}`;
}

// The asked period: a fixed window, or a duration somewhere in a range of starts.
export function period(r) {
  if (r.start && r.end) return `${when(r.start)} → ${when(r.end)}`;
  const range = r.latest_start && r.latest_start !== r.earliest_start ? ` … ${when(r.latest_start)}` : '';
  return `${r.duration_hours} h, starting ${when(r.earliest_start)}${range}`;
}

// "12-07 12:00": a time in a list's narrow column (UTC, the year left out).
export function short(t) {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t || '—') : d.toISOString().slice(5, 16).replace('T', ' ');
}

// The period in a list's column: "12-07 12:00 → 12-08 12:00 (24 h)", "48 h from 12-07 12:00".
export function shortPeriod(r) {
  if (r.start && r.end) return `${short(r.start)} → ${short(r.end)} (${dur((Date.parse(r.end) - Date.parse(r.start)) / 1000)})`;
  const range = r.latest_start && r.latest_start !== r.earliest_start ? ` … ${short(r.latest_start)}` : '';
  return `${r.duration_hours} h from ${short(r.earliest_start)}${range}`;
}

// Whose move it is, in a list's column.
export const MOVE_WORDS = {
  submitted: 'operator quotes',
  quoted: 'operator approves',
  approved: 'org admin accepts',
  accepted: 'operator confirms',
};

// What a request in `state` waits for, and who gives it (docs/api.md, "Requests").
export const NEXT = {
  submitted: 'waits for the operator to quote it',
  quoted: 'waits for the operator to approve the quote',
  approved: "waits for the org admin to accept the quote",
  accepted: 'waits for the operator to confirm it into a reservation',
  confirmed: 'confirmed: the reservation holds the GPUs',
  rejected: 'rejected by the operator',
  cancelled: 'cancelled',
  expired: 'the quote ran out before the request was confirmed',
};

const LIMIT_WORDS = {
  credit_limit: 'the credit limit',
  max_concurrent_gpus: 'the most GPUs held at once',
  max_reservation_length: 'the longest reservation',
  max_reservations_ahead: 'the most reservations not started yet',
  monthly_spend_cap: "the month's spending cap",
};

// A limit's number in its unit: money, GPUs (27720 share units each), seconds, a count.
function amount(unit, v) {
  if (v === null || v === undefined) return 'none';
  if (unit === 'micros') return `${money(v)} USD`;
  if (unit === 'gpu_share' || unit === 'share_units') return `${(Number(v) / 27720).toFixed(Number(v) % 27720 ? 2 : 0)} GPU`;
  if (unit === 'seconds') return dur(v);
  return String(v);
}

function balanceWords(d) {
  const avail = Number(d.balance_micros) + Number(d.credit_limit_micros);
  const top = Math.max(0, Number(d.asked) - avail);
  return html`<li>the charge: <b>${money(d.asked)} USD</b>; the org's cash ${money(d.balance_micros)} + credit limit ${money(d.credit_limit_micros)} = <b>${money(avail)} USD</b> available. A top-up of at least ${money(top)} USD lets it through.</li>`;
}

function limitWords(d) {
  const what = LIMIT_WORDS[d.limit] || d.limit;
  return html`<li>${what}: the contract allows <b>${amount(d.unit, d.value)}</b>, the org uses ${amount(d.unit, d.in_use)}, this asks for <b>${amount(d.unit, d.asked)}</b>.</li>`;
}

function capacityWords(d, said) {
  const alts = d.alternatives || [];
  return html`${d.reason && d.reason !== said ? html`<li>${d.reason}</li>` : null}
    ${d.gpu ? html`<li>GPU <span class="mono">${d.gpu}</span>${d.held_by ? html` is held by <span class="mono">${d.held_by}</span>` : null}</li>` : null}
    ${alts.length
      ? html`<li>windows that fit: <ul>${alts.map((a) => html`<li>${when(a.start)} → ${when(a.end)}, ${a.model}${a.profile ? ` ${a.profile}` : ''}: ${a.total_micros === null ? 'no price' : `${money(a.total_micros)} ${a.currency || 'USD'}`}</li>`)}</ul></li>`
      : null}
    ${(d.other_models || []).length ? html`<li>other models that fit the window: ${d.other_models.join(', ')}</li>` : null}`;
}

// An action's refusal: the API's message, then its details in words. data-field names the
// field the API named (empty for the whole action), as every page's errors do.
export function ActionError({ err }) {
  if (!err || err.name === 'AbortError') return null;
  const d = err.details || {};
  let more = null;
  if (err.code === 'insufficient_balance') more = balanceWords(d);
  else if (err.code === 'limit_exceeded') more = limitWords(d);
  else if (err.code === 'no_capacity') more = capacityWords(d, err.message);
  return html`<div class="error" data-field=${err.field || ''} data-code=${err.code} role="alert">
    <p>${err.message}</p>
    ${more ? html`<ul class="why">${more}</ul>` : null}
  </div>`;
}

