// requests_detail.js — one request (#/requests?id=req_…): what was asked, its state history
// (the request.* events of its id), the quote's lines and allocations, the printable quote
// (?doc=1), and the actions the person's role may take at this state — the operator quotes,
// approves, rejects and confirms; the org admin accepts and cancels; members only look (the
// API refuses them anyway). After the confirmation it links to the reservation.
import { html, useEffect, useRef, useState } from '../lib/html.js';
import { api, apiAll } from '../lib/api.js';
import { href, setParams } from '../lib/route.js';
import { Badge, Busy, FormError, Printable, dur, money, useEvents, when } from '../lib/ui.js';
import { ActionError, NEXT, ask, period } from './requests_words.js';

const OPEN = ['submitted', 'quoted', 'approved', 'accepted'];

// Who may do what, at which state (docs/api.md, "Requests"; core/state.c decides).
const ACTIONS = [
  { verb: 'quote', label: 'Quote', roles: ['operator'], states: ['submitted'] },
  { verb: 'quote', label: 'Quote again', roles: ['operator'], states: ['quoted'], secondary: true },
  { verb: 'approve', label: 'Approve', roles: ['operator'], states: ['quoted'] },
  { verb: 'accept', label: 'Accept', roles: ['org_admin'], states: ['approved'] },
  { verb: 'confirm', label: 'Confirm', roles: ['operator'], states: ['accepted'] },
  { verb: 'reject', label: 'Reject…', roles: ['operator'], states: OPEN, refuse: true },
  { verb: 'cancel', label: 'Cancel request…', roles: ['operator', 'org_admin'], states: OPEN, refuse: true },
];

// Users' names by id, for the history (operators: everyone; org admins: their org; members
// may not list users and see ids).
let names = null;
function userNames(role) {
  if (role === 'member') return Promise.resolve({});
  if (!names) {
    names = apiAll('/v1/users', 5000)
      .then((us) => Object.fromEntries(us.map((u) => [u.id, u.name])))
      .catch(() => ((names = null), {}));
  }
  return names;
}

function Fields({ r, who }) {
  const row = (k, v) => (v === null || v === undefined || v === '' ? null : html`<dt>${k}</dt><dd>${v}</dd>`);
  const labels = Object.entries(r.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ');
  return html`<div class="card"><h2>The ask</h2><dl class="kv" data-fields>
    ${row('org', html`${r.org_name} <span class="muted mono">${r.org}</span>`)}
    ${row('kind', r.kind === 'mig' ? 'MIG instances' : 'whole GPUs')}
    ${row('what', ask(r))}
    ${row('min memory', r.min_memory_gb && `${r.min_memory_gb} GB`)}
    ${row('instance memory', r.instance_memory_gb && `${r.instance_memory_gb} GB`)}
    ${row('min BF16', r.min_tflops_bf16 && `${r.min_tflops_bf16} TFLOPS`)}
    ${row('min bandwidth', r.min_memory_bandwidth_gbs && `${r.min_memory_bandwidth_gbs} GB/s`)}
    ${row('period', period(r))}
    ${row('same node', r.same_node ? 'yes' : null)}
    ${row('zone', r.zone)}
    ${row('labels', labels)}
    ${row('usage window', r.usage_window)}
    ${row('image', r.image && html`<span class="mono">${r.image}</span>`)}
    ${row('framework', r.framework)}
    ${row('workload', r.workload)}
    ${row('notes', r.notes)}
    ${row('payment terms', r.payment_terms)}
    ${row('reason', r.reason)}
    ${row('filed', `${when(r.created_at)} by ${who(r.created_by)}`)}
  </dl></div>`;
}

function History({ events, who }) {
  return html`<div class="card"><h2>History</h2>
    ${events === null
      ? html`<${Busy} what="Reading the history" />`
      : html`<ol class="history" data-history>${events.map((ev) => html`<li data-id=${ev.id}>
          <span class="mono muted">${when(ev.at)}</span> <${Badge} state=${ev.kind.replace(/^request\./, '')} /> by ${who(ev.actor)}${ev.data && ev.data.reason ? html` <span class="muted">— ${ev.data.reason}</span>` : null}</li>`)}</ol>`}
  </div>`;
}

// What the org has against the quote's total, for those who may read its balance: a prepaid
// confirmation charges the whole total at once (402 beyond cash + credit limit).
function Funds({ me, r, q }) {
  const [b, setB] = useState(null);
  useEffect(() => {
    if (me.role === 'member' || !['quoted', 'approved', 'accepted'].includes(r.state)) return;
    api('GET', `/v1/orgs/${r.org}/balance`).then(setB, () => setB(null));
  }, [r.org, r.state]);
  if (!b) return null;
  const short = Number(b.available_micros) < Number(q.total_micros);
  return html`<dt>funds</dt><dd class=${short ? 'bad' : ''} data-funds>${r.org_name} has ${money(b.available_micros)} USD available (cash + credit limit)${short ? ': less than the total, so a prepaid confirmation would be refused until a top-up' : ''}</dd>`;
}

function Quote({ me, q, r, showDoc }) {
  const live = Date.parse(q.valid_until) > Date.now();
  return html`<div class="card" data-quote=${q.id}><h2>Quote <span class="mono muted">${q.id}</span></h2>
    <dl class="kv">
      <dt>window</dt><dd>${when(q.start)} → ${when(q.end)}</dd>
      <dt>model</dt><dd>${q.model}${q.profile ? ` · ${q.profile}` : ''}</dd>
      <dt>valid until</dt><dd class=${live || !OPEN.includes(r.state) ? '' : 'bad'}>${when(q.valid_until)}${live ? ` (in ${dur((Date.parse(q.valid_until) - Date.now()) / 1000)})` : ' (passed)'}</dd>
      <dt>priced</dt><dd>price version ${q.price_version}${q.contract ? `, contract ${q.contract.id} v${q.contract.version}` : ', no contract (list price: cannot be confirmed)'}; ${q.billing_rule}</dd>
      <${Funds} me=${me} r=${r} q=${q} />
    </dl>
    <table class="t lines" data-lines><thead><tr><th>Line</th><th class="num">Units</th><th class="num">Hours</th><th class="num">Rate USD</th><th class="num">Amount USD</th></tr></thead>
      <tbody>${q.lines.map((l, i) => html`<tr data-line=${i}><td>${l.what}</td><td class="num">${l.units}</td><td class="num">${l.hours}</td>
        <td class="num">${money(l.rate_micros)}</td><td class="num">${money(l.amount_micros)}</td></tr>`)}</tbody>
      <tfoot><tr><th colspan="4">Total (${q.currency})</th><th class="num" data-total>${money(q.total_micros)}</th></tr></tfoot></table>
    <h3>Allocations</h3>
    <table class="t"><thead><tr><th>Node</th><th>GPU</th><th>UUID</th><th>Kind</th></tr></thead>
      <tbody>${q.allocations.map((a) => html`<tr><td>${a.node}</td><td class="mono">${a.gpu}</td><td class="mono muted">${a.gpu_uuid}</td>
        <td>${a.kind === 'mig' ? `MIG ${a.profile}${a.start_unit !== undefined ? ` at unit ${a.start_unit}` : ''}` : 'whole GPU'}</td></tr>`)}</tbody></table>
    <p><button type="button" class="secondary" data-action="document" aria-expanded=${showDoc ? 'true' : 'false'}
      onClick=${() => setParams({ doc: showDoc ? '' : '1' })}>${showDoc ? 'Hide the quote document' : 'Quote document'}</button></p>
  </div>`;
}

function Actions({ me, r, onDone }) {
  const [busy, setBusy] = useState('');
  const [err, setErr] = useState(null);
  const [refusing, setRefusing] = useState('');
  const [reason, setReason] = useState('');
  const [valid, setValid] = useState('');
  const [terms, setTerms] = useState('');
  const reasonBox = useRef(null);
  useEffect(() => {
    if (refusing && reasonBox.current) reasonBox.current.focus();
  }, [refusing]);
  const mine = ACTIONS.filter((a) => a.roles.includes(me.role) && a.states.includes(r.state));
  const act = async (verb) => {
    const body = {};
    if (verb === 'quote' && valid.trim()) body.valid_for_minutes = Number(valid);
    if (verb === 'confirm' && terms) body.payment_terms = terms;
    if ((verb === 'reject' || verb === 'cancel') && reason.trim()) body.reason = reason.trim();
    setBusy(verb);
    setErr(null);
    try {
      await api('POST', `/v1/requests/${r.id}/${verb}`, body);
      setRefusing('');
      setReason('');
      onDone();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy('');
    }
  };
  const button = (a) => html`<button type="button" data-action=${a.verb} disabled=${!!busy}
      class=${a.refuse ? 'danger-outline' : a.secondary ? 'secondary' : ''}
      onClick=${() => (a.refuse ? setRefusing(refusing === a.verb ? '' : a.verb) : act(a.verb))}>
      ${busy === a.verb ? `${a.label}…` : a.label}</button>`;
  return html`<div class="card actions" data-actions>
    <h2>Next: <span class="muted">${NEXT[r.state]}</span></h2>
    ${!mine.length
      ? html`<p class="muted" data-no-actions>${OPEN.includes(r.state)
          ? (me.role === 'member' ? 'Members follow a request here; the org admins and the operator act on it.' : 'Nothing for you to do at this state.')
          : 'This request is settled.'}</p>`
      : html`<div class="toolbar">
          ${mine.some((a) => a.verb === 'quote') ? html`<label class="field"><span>Valid for (minutes)</span>
            <input name="valid_for_minutes" type="number" min="1" max="43200" placeholder="1440" value=${valid}
              onInput=${(e) => setValid(e.currentTarget.value)} /></label>` : null}
          ${mine.some((a) => a.verb === 'confirm') ? html`<label class="field"><span>Payment terms</span>
            <select name="payment_terms" value=${terms} onChange=${(e) => setTerms(e.currentTarget.value)}>
              <option value="">the contract's</option><option>prepaid</option><option>balance</option><option>invoiced</option>
            </select></label>` : null}
          ${mine.map(button)}
        </div>`}
    ${refusing
      ? html`<form class="refuse" onSubmit=${(e) => (e.preventDefault(), act(refusing))}>
          <label class="field"><span>Reason ${refusing === 'reject' ? 'for rejecting' : 'for cancelling'} (the org sees it)</span>
            <textarea ref=${reasonBox} name="reason" rows="2" maxlength="4096" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea></label>
          <button type="submit" class="danger" data-action=${`${refusing}-submit`} disabled=${!!busy}>
            ${refusing === 'reject' ? 'Reject the request' : 'Cancel the request'}</button>
          <button type="button" class="secondary" onClick=${() => setRefusing('')}>Keep it</button>
        </form>`
      : null}
    <${ActionError} err=${err} />
  </div>`;
}

export function RequestDetail({ me, params }) {
  const id = params.id;
  const [r, setR] = useState(null);
  const [err, setErr] = useState(null);
  const [events, setEvents] = useState(null);
  const [who, setWho] = useState({});
  const [doc, setDoc] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    api('GET', `/v1/requests/${encodeURIComponent(id)}`, undefined, { signal: ctl.signal })
      .then(setR, (e) => e.name !== 'AbortError' && setErr(e));
    apiAll(`/v1/events?object=${encodeURIComponent(id)}`, 500, { signal: ctl.signal })
      .then((evs) => setEvents(evs.filter((ev) => ev.kind.startsWith('request.'))), () => setEvents([]));
    return () => ctl.abort();
  }, [id, tick]);
  useEffect(() => {
    userNames(me.role).then(setWho);
  }, []);
  const qid = r && r.quote && r.quote.id;
  useEffect(() => {
    setDoc(null);
    if (!params.doc || !qid) return;
    api('GET', `/v1/quotes/${qid}/document`, undefined, { text: true }).then((d) => setDoc(d), (e) => setDoc({ err: e }));
  }, [params.doc, qid]);
  useEvents(() => setTick((t) => t + 1), { object: id }, [id]);
  const name = (uid) => (uid ? who[uid] || uid : '—');
  const back = href('requests', { state: params.state, org: params.org });
  if (err) {
    return html`<section data-page="requests" data-ready="1"><p><a href=${back}>← Requests</a></p><${FormError} err=${err} /></section>`;
  }
  if (!r) return html`<section data-page="requests" data-ready="0"><${Busy} what="Reading the request" /></section>`;
  return html`<section data-page="requests" data-ready="1" data-detail=${r.id}>
    <p class="noprint"><a href=${back} data-action="back">← Requests</a></p>
    <h1>Request <span class="mono">${r.id}</span> <${Badge} state=${r.state} /></h1>
    <p class="lead">${ask(r)} for <b>${r.org_name}</b>, ${period(r)}${r.quote ? html` · quoted <b>${money(r.quote.total_micros)} USD</b>` : ''}</p>
    ${r.reservation
      ? html`<p class="card ok" data-reservation=${r.reservation}>Reservation <a class="mono" href=${href('reservations', { id: r.reservation })}>${r.reservation}</a> holds these GPUs.</p>`
      : null}
    <${Actions} me=${me} r=${r} onDone=${() => setTick((t) => t + 1)} />
    <div class="grid2">
      <${Fields} r=${r} who=${name} />
      <${History} events=${events} who=${name} />
    </div>
    ${r.quote ? html`<${Quote} me=${me} q=${r.quote} r=${r} showDoc=${!!params.doc} />` : html`<p class="card muted">No quote yet.</p>`}
    ${params.doc && qid
      ? doc === null
        ? html`<${Busy} what="Reading the quote document" />`
        : doc.err
          ? html`<${FormError} err=${doc.err} />`
          : html`<div data-document="quote"><${Printable} doc=${doc} title=${`Quote ${qid}`} /></div>`
      : null}
  </section>`;
}
