// reservations_detail.js — one reservation beside the timeline: what it is (id, org, window,
// state, its GPUs and MIG instances, price), the containers running on it, and what the
// person may do to it: extend (renew) or shorten its end, cancel it. Operators may always; an
// org's admin may extend, and shorten or cancel before the start, or during the window when
// the org's contract allows it (admin_may_cancel_active); members see it and act on nothing.
// The API decides again on every call, and its refusal is shown next to the input it names.
import { html, useEffect, useState } from '../lib/html.js';
import { api, apiAll } from '../lib/api.js';
import { Badge, Busy, ErrorText, FormError, dur, money, when } from '../lib/ui.js';

const LIVE = ['scheduled', 'provisioning', 'active'];

// An RFC 3339 end `days` after `iso`, to the second, as the API takes it.
function later(iso, days) {
  return new Date(Date.parse(iso) + days * 86400e3).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// What this person may do to r: {extend, shorten, cancel}.
function allowed(me, r, contract) {
  if (!LIVE.includes(r.state)) return {};
  if (me.role === 'operator') return { extend: true, shorten: true, cancel: true };
  if (me.role !== 'org_admin' || me.org !== r.org) return {};
  const before = Date.now() < Date.parse(r.start);
  const cut = before || !!(contract && contract.admin_may_cancel_active);
  return { extend: true, shorten: cut, cancel: cut };
}

function Allocations({ r }) {
  return html`<table class="t rsv-allocs">
    <thead><tr><th>Unit</th><th>GPU</th><th>Node</th><th>What</th><th>Assigned to</th></tr></thead>
    <tbody>${(r.allocations || []).map((a, i) => html`<tr key=${i}>
      <td class="num">${i}</td><td class="mono">${a.gpu}</td><td class="mono">${a.node}</td>
      <td>${a.kind === 'mig' ? html`${a.profile} <span class="muted">from unit ${a.start_unit}</span>` : 'whole GPU'}</td>
      <td>${a.assigned_to || html`<span class="muted">—</span>`}</td></tr>`)}</tbody>
  </table>`;
}

function Containers({ id }) {
  const [items, setItems] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    const ctl = new AbortController();
    apiAll(`/v1/containers?reservation=${encodeURIComponent(id)}`, 500, { signal: ctl.signal })
      .then(setItems, (e) => e.name !== 'AbortError' && (setErr(e), setItems([])));
    return () => ctl.abort();
  }, [id]);
  if (!items) return html`<${Busy} what="Reading its containers" />`;
  return html`<div data-containers=${items.length}>
    <${FormError} err=${err} />
    ${items.length
      ? html`<table class="t"><thead><tr><th>Container</th><th>Image</th><th>State</th><th>Unit</th><th>Started</th></tr></thead>
        <tbody>${items.map((c) => html`<tr key=${c.id} data-id=${c.id}><td class="mono">${c.id}</td><td class="mono">${c.image}</td>
          <td><${Badge} state=${c.state} /></td><td class="num">${c.target && c.target.unit !== undefined ? c.target.unit : '—'}</td>
          <td>${when(c.started_at)}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">No container has run on it.</p>`}
  </div>`;
}

// The extend / shorten / cancel controls; onDone(reservation) with the API's answer.
function Actions({ r, may, onDone, onSaid }) {
  const [end, setEnd] = useState(later(r.end, 1));
  const [reason, setReason] = useState('');
  const [confirm, setConfirm] = useState(false);
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => (setEnd(later(r.end, 1)), setConfirm(false), setErr(null)), [r.id, r.end]);
  const act = async (verb, body, words) => {
    setBusy(true);
    setErr(null);
    onSaid('');
    try {
      const ans = await api('POST', `/v1/reservations/${encodeURIComponent(r.id)}/${verb}`, body);
      onSaid(words(ans));
      setConfirm(false);
      onDone(ans);
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  const extend = () => act('extend', { end }, (a) => `Extended to ${when(a.end)}: ${money(a.extension_micros)} ${a.currency || 'USD'} more.`);
  const shorten = () => act('shorten', { end }, (a) => `Ends at ${when(a.end)} now; refunded ${money(a.refund_micros)} (fee ${money(a.fee_micros)}).`);
  const cancel = () => act('cancel', reason.trim() ? { reason: reason.trim() } : {},
    (a) => `Cancelled; refunded ${money(a.refund_micros)} (fee ${money(a.fee_micros)}).`);
  return html`<div class="rsv-actions">
    ${may.extend || may.shorten
      ? html`<div class="toolbar">
          <label class="field"><span>New end (UTC)</span>
            <input name="end" class="mono" value=${end} size="22" aria-invalid=${err && err.field === 'end' ? 'true' : 'false'}
              onInput=${(e) => setEnd(e.currentTarget.value)} /></label>
          <button type="button" class="secondary" data-action="plus-day" onClick=${() => setEnd(later(r.end, 1))}>+1 day</button>
          <button type="button" class="secondary" data-action="plus-week" onClick=${() => setEnd(later(r.end, 7))}>+1 week</button>
        </div>
        <${ErrorText} err=${err} field="end" />
        <div class="toolbar">
          ${may.extend ? html`<button data-action="extend" disabled=${busy} onClick=${extend}>Extend</button>` : null}
          ${may.shorten ? html`<button class="secondary" data-action="shorten" disabled=${busy} onClick=${shorten}>Shorten</button>` : null}
        </div>`
      : null}
    ${may.cancel
      ? html`<div class="toolbar">
          <label class="field"><span>Reason (optional)</span>
            <input name="reason" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} /></label>
          ${confirm
            ? html`<button class="danger" data-action="confirm-cancel" disabled=${busy} onClick=${cancel}>Yes, cancel it</button>
                <button class="secondary" data-action="keep" onClick=${() => setConfirm(false)}>Keep it</button>`
            : html`<button class="danger" data-action="cancel" onClick=${() => setConfirm(true)}>Cancel…</button>`}
        </div>
        ${confirm ? html`<p class="muted">Its capacity is released; the unused time is refunded per the contract, less its fee.</p>` : null}`
      : null}
    <${FormError} err=${err} fields=${['end']} />
  </div>`;
}

// The panel for reservation `id` (summary: the list's copy, shown until the full one came);
// onChange(reservation) when an action changed it; onClose().
export function Detail({ id, summary, me, onChange, onClose }) {
  const [r, setR] = useState(null);
  const [contract, setContract] = useState(null);
  const [err, setErr] = useState(null);
  const [said, setSaid] = useState('');
  useEffect(() => {
    const ctl = new AbortController();
    setR(null);
    setErr(null);
    api('GET', `/v1/reservations/${encodeURIComponent(id)}`, undefined, { signal: ctl.signal })
      .then((x) => {
        setR(x);
        // an org admin's right to cut an active window is the contract's
        if (me.role !== 'org_admin' || !x.contract || !x.contract.id) return null;
        const path = `/v1/contracts/${x.contract.id}?version=${x.contract.version}`;
        return api('GET', path, undefined, { signal: ctl.signal }).then(setContract);
      })
      .catch((e) => e.name !== 'AbortError' && setErr(e));
    return () => ctl.abort();
  }, [id]);
  // a newer copy in the list (the event stream, another tab's action): show it
  useEffect(() => {
    if (summary && r && summary.updated_at && summary.updated_at !== r.updated_at) setR((prev) => ({ ...prev, ...summary }));
  }, [summary && summary.updated_at]);
  const shown = r || summary;
  const done = (ans) => {
    setR((prev) => ({ ...prev, ...ans }));
    onChange(ans);
  };
  return html`<aside class="card rsv-detail" data-detail=${id} aria-label=${`reservation ${id}`}>
    <div class="rsv-detail-head">
      <h2 class="mono">${id}</h2>
      <button class="link" data-action="close" onClick=${onClose} aria-label="close the details">Close</button>
    </div>
    <${FormError} err=${err} />
    ${!shown
      ? (err ? null : html`<${Busy} />`)
      : html`<dl class="kv">
          <dt>State</dt><dd><${Badge} state=${shown.state} />${shown.reason ? html` <span class="muted">${shown.reason}</span>` : null}</dd>
          <dt>Org</dt><dd>${shown.org_name || shown.org}</dd>
          <dt>Window</dt><dd data-window>${`${when(shown.start)} → ${when(shown.end)} `}
            <span class="muted">(${dur((Date.parse(shown.end) - Date.parse(shown.start)) / 1000)})</span></dd>
          <dt>What</dt><dd>${shown.count} × ${shown.kind === 'mig' ? `${shown.profile} on ${shown.model}` : shown.model}</dd>
          <dt>Price</dt><dd><b>${money(shown.total_micros)}</b>${` ${shown.currency || 'USD'} `}
            <span class="muted">${shown.payment_terms || ''}${shown.billing_rule ? ` · ${shown.billing_rule}` : ''}</span></dd>
          ${shown.billing
            ? html`<dt>Paid</dt><dd>${`${money(shown.billing.net_micros)} net `}<span class="muted">
                (charged ${money(shown.billing.charged_micros)}, refunded ${money(shown.billing.refunded_micros)})</span></dd>`
            : null}
          <dt>Request</dt><dd class="mono">${shown.request || '—'}</dd>
        </dl>
        <h3>GPUs and instances</h3>
        <${Allocations} r=${shown} />
        <h3>Containers</h3>
        <${Containers} id=${id} />
        ${r && Object.keys(allowed(me, r, contract)).length
          ? html`<${Actions} r=${r} may=${allowed(me, r, contract)} onDone=${done} onSaid=${setSaid} />` : null}
        ${said ? html`<p class="ok" role="status" data-said>${said}</p>` : null}`}
  </aside>`;
}
