// request_fit.js — the New request page's live feedback: while the ask is typed, what is free
// in its window (GET /v1/availability), the earliest windows that fit it and their price under
// the org's contract (GET /v1/offerings: the planner's and the pricing's own answer, nothing
// held), each with a Reserve for self-service orgs (POST /v1/reservations {offering}); and the
// form's fields as POST /v1/requests takes them.
import { html, useEffect, useState } from '../lib/html.js';
import { api, qs } from '../lib/api.js';
import { href } from '../lib/route.js';
import { Busy, FormError, dur, money, usePoll, when } from '../lib/ui.js';
import { fromInput } from './pool.js';

// The form as POST /v1/requests's body: empty fields left out, integers as numbers (anything
// else is sent as typed, for the API to name), times as RFC 3339, labels "k=v,k2=v2" as an
// object.
export function bodyOf(f, me) {
  const b = {};
  const int = (k) => {
    const v = String(f[k] ?? '').trim();
    if (v !== '') b[k] = /^-?\d+$/.test(v) ? Number(v) : v;
  };
  const str = (k) => {
    const v = String(f[k] ?? '').trim();
    if (v !== '') b[k] = v;
  };
  if (me.role === 'operator') str('org');
  b.kind = f.kind;
  int('count');
  str('model');
  if (f.kind === 'gpu') int('min_memory_gb');
  if (f.kind === 'mig') {
    str('profile');
    int('instance_memory_gb');
  }
  int('min_tflops_bf16');
  int('min_memory_bandwidth_gbs');
  if (f.period === 'fixed') {
    if (f.start) b.start = fromInput(f.start);
    if (f.end) b.end = fromInput(f.end);
  } else {
    int('duration_hours');
    if (f.earliest_start) b.earliest_start = fromInput(f.earliest_start);
    if (f.latest_start) b.latest_start = fromInput(f.latest_start);
  }
  if (f.same_node) b.same_node = true;
  str('zone');
  if (String(f.labels).trim()) {
    b.labels = {};
    for (const pair of f.labels.split(',')) {
      const [k, ...v] = pair.split('=');
      if (k.trim()) b.labels[k.trim()] = v.join('=').trim();
    }
  }
  for (const k of ['usage_window', 'image', 'framework', 'workload', 'notes']) str(k);
  return b;
}

// The ask as the feedback needs it: the offerings query (GET /v1/offerings names the period
// duration/earliest/latest), the availability window, and a key that changes with either.
export function askOf(f, me) {
  const b = bodyOf(f, me);
  const q = { kind: b.kind, count: b.count, model: b.model, min_memory_gb: b.min_memory_gb, profile: b.profile,
    instance_memory_gb: b.instance_memory_gb, min_tflops_bf16: b.min_tflops_bf16,
    min_memory_bandwidth_gbs: b.min_memory_bandwidth_gbs, zone: b.zone, limit: 5 };
  if (b.same_node) q.same_node = 'true';
  if (b.labels) q.labels = Object.entries(b.labels).map(([k, v]) => `${k}=${v}`).join(',');
  if (me.role === 'operator') q.org = b.org;
  let start, end;
  if (f.period === 'fixed') {
    start = b.start;
    end = b.end;
    const h = (Date.parse(end) - Date.parse(start)) / 3600e3;
    q.duration = Number.isFinite(h) ? String(h) : '';
    q.earliest = start;
    q.latest = start;
  } else {
    q.duration = b.duration_hours;
    q.earliest = b.earliest_start;
    q.latest = b.latest_start;
    start = b.earliest_start;
    const h = Number(b.duration_hours);
    end = start && Number.isInteger(h) && h > 0 ? new Date(Date.parse(start) + h * 3600e3).toISOString().replace('.000Z', 'Z') : '';
  }
  const now = `${new Date().toISOString().slice(0, 19)}Z`;
  if (start && start < now) start = now; // availability counts from now at the earliest
  let lacks = '';
  if (b.kind === 'gpu' && !b.model && b.min_memory_gb === undefined) lacks = 'Choose a GPU model, or the memory each GPU needs.';
  if (b.kind === 'mig' && !b.profile && b.instance_memory_gb === undefined) lacks = 'Choose a MIG profile, or the memory each instance needs.';
  const key = JSON.stringify([q, start, end]);
  return { q, start, end, key, lacks, period: f.period === 'fixed' ? 'fixed' : 'flexible', org: b.org, kind: b.kind, count: Number(b.count), profile: b.profile, model: b.model };
}

// GET /v1/offerings' parameters named as the form names them.
const FORM_NAME = {
  flexible: { duration: 'hours', earliest: 'earliest start', latest: 'latest start' },
  fixed: { duration: 'the window (whole hours)', earliest: 'start', latest: 'start' },
};

function Windows({ me, ask, offers, onReserved }) {
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState('');
  // no contract in force (offerings at list price): a reservation would be refused, so none
  // is offered; the request goes the operator's way
  const contract = offers[0].contract !== null;
  const may = contract && (me.role === 'org_admin' || (me.role === 'operator' && ask.org));
  const reserve = async (o) => {
    setBusy(o.id);
    setErr(null);
    try {
      const body = { offering: o.id };
      if (me.role === 'operator') body.org = ask.org;
      onReserved(await api('POST', '/v1/reservations', body));
    } catch (e) {
      setErr(e);
    } finally {
      setBusy('');
    }
  };
  return html`<div class="windows">
    <table class="t" aria-label="windows that fit">
      <thead><tr><th>Window</th><th>Model</th><th class="num">Price</th>${may ? html`<th></th>` : null}</tr></thead>
      <tbody>${offers.map((o, i) => html`<tr data-id=${o.id} class=${i === 0 ? 'first' : ''}>
        <td>${when(o.start)}<br /><span class="muted small">to ${when(o.end)} · ${dur(o.duration_hours * 3600)}</span></td>
        <td>${o.model}${o.profile ? html`<br /><span class="mono small">${o.count} × ${o.profile}</span>` : html`<br /><span class="muted small">${o.count} GPU${o.count === 1 ? '' : 's'}</span>`}</td>
        <td class="num"><span class="price" data-total=${o.total_micros}>${money(o.total_micros)}</span> <span class="muted">${o.currency}</span>
          <br /><span class="muted small">${o.contract ? `contract ${o.contract.id} v${o.contract.version}` : 'list price'}</span></td>
        ${may ? html`<td><button data-action="reserve" data-id=${o.id} disabled=${!!busy} onClick=${() => reserve(o)}>${busy === o.id ? 'Reserving…' : 'Reserve'}</button></td>` : null}
      </tr>`)}</tbody>
    </table>
    <${FormError} err=${err} />
    ${contract ? null : html`<p class="muted small" data-nocontract>At list price: ${me.role === 'operator' ? 'the org has' : 'your org has'} no contract in force, so these windows cannot be reserved here; submit the request and the operator quotes it.</p>`}
    ${may ? html`<p class="muted small">Reserve books the window now and charges it under the contract (self-service orgs); prices hold until ${when(offers[0].valid_until)}.</p>` : null}
  </div>`;
}

function Availability({ a, ask }) {
  if (!a) return null;
  const prof = ask.kind === 'mig' && (a.profiles || []).find((p) => p.profile === ask.profile);
  const free = ask.kind === 'mig' ? (prof ? prof.instances_free : null) : a.whole_gpus_free;
  const fits = free !== null && Number.isInteger(ask.count) && ask.count <= free;
  return html`<div class="avail" data-avail=${a.model}>
    ${ask.kind === 'mig' && !prof
      ? html`<p><b>${a.model}</b>: ${(a.profiles || []).filter((p) => p.instances_free).map((p) => html`<span class="chip">${p.profile} <b>×${p.instances_free}</b></span>`)}
          <span class="muted">MIG instances free in the window</span></p>`
      : html`<p class=${fits ? 'ok' : 'bad'}><b data-free=${free}>${Number(free).toLocaleString('en-US')}</b> ${ask.kind === 'mig' ? `${ask.profile} instances` : `of ${a.total_gpus.toLocaleString('en-US')} ${a.model} GPUs`}${' '}
          free from ${when(a.start)} to ${when(a.end)}: ${fits ? 'it fits' : `not ${ask.count} ${ask.period === 'fixed' ? 'in that window' : 'at the earliest start'}`}.</p>`}
    ${ask.kind === 'gpu' && ask.count > a.total_gpus ? html`<p class="bad">The fleet has ${a.total_gpus} ${a.model} GPUs in all: ask for fewer, or for another model.</p>` : null}
  </div>`;
}

// The feedback panel: asked a moment after the typing stops, and again every minute (offerings
// hold 5 minutes; availability moves with the fleet).
export function Fit({ me, ask, models }) {
  const [key, setKey] = useState(ask.key);
  const [offers, setOffers] = useState(null);
  const [offErr, setOffErr] = useState(null);
  const [avail, setAvail] = useState(null);
  const [reserved, setReserved] = useState(null);
  const [again, setAgain] = useState(0);
  useEffect(() => {
    const t = setTimeout(() => setKey(ask.key), 400);
    return () => clearTimeout(t);
  }, [ask.key]);
  const needOrg = me.role === 'operator' && !ask.org;
  usePoll(async (signal) => {
    const wanted = !needOrg && !ask.lacks && ask.q.duration;
    try {
      const o = wanted ? await api('GET', `/v1/offerings${qs(ask.q)}`, undefined, { signal }) : null;
      setOffers(o ? o.items : null);
      setOffErr(null);
      const model = ask.model || (o && o.items[0] && o.items[0].model);
      const a = model && ask.start && ask.end
        ? await api('GET', `/v1/availability${qs({ model, start: ask.start, end: ask.end, labels: ask.q.labels })}`, undefined, { signal })
        : null;
      setAvail(a);
    } catch (e) {
      if (e.name === 'AbortError') return;
      setOffErr(e);
      setOffers(null);
      setAvail(null);
    }
  }, 60000, [key, again]);
  useEffect(() => setReserved(null), [key]);
  // Booked: the windows listed are asked again (the one reserved is taken now).
  const onReserved = (r) => {
    setReserved(r);
    setAgain((n) => n + 1);
  };
  const loading = !models;
  return html`<aside class="card fit" aria-label="what fits" aria-live="polite">
    <h2>What fits</h2>
    ${loading ? html`<${Busy} what="Reading the catalog" />` : null}
    ${needOrg ? html`<p class="muted">Choose the customer's org: its windows are priced under its contract.</p>` : null}
    ${ask.lacks && !needOrg ? html`<p class="muted" data-lacks>${ask.lacks}</p>` : null}
    ${offErr
      ? html`<p class="warn" data-fit-field=${offErr.field}>${offErr.field ? html`<b>${FORM_NAME[ask.period][offErr.field] || offErr.field.replace(/_/g, ' ')}</b>: ` : ''}${offErr.message}</p>`
      : null}
    <${Availability} a=${avail} ask=${ask} />
    ${offers && offers.length
      ? html`<div class="earliest" data-earliest=${offers[0].start}>
          <span class="muted">Earliest window that fits</span>
          <b>${when(offers[0].start)} → ${when(offers[0].end)}</b>
          <span><span class="price big">${money(offers[0].total_micros)}</span> ${offers[0].currency} · ${offers[0].model}${offers[0].profile ? ` ${offers[0].profile}` : ''}</span>
          ${offers[0].lines.map((l) => html`<span class="muted small">${l.what}: ${l.units} × ${l.hours} h × ${money(l.rate_micros)} = ${money(l.amount_micros)}</span>`)}
          <span class="muted small">${offers[0].billing_rule}</span>
        </div>
        <h3>Windows that fit</h3>
        <${Windows} me=${me} ask=${ask} offers=${offers} onReserved=${onReserved} />`
      : offers
        ? html`<p class="bad" data-nofit>${ask.period === 'fixed'
            ? 'Nothing fits in that window: try another window, another model or fewer units.'
            : 'Nothing fits in that range: try a later latest start, another model or fewer units.'}</p>`
        : null}
    ${reserved
      ? html`<p class="filed ok" data-reserved=${reserved.id}>Reserved: <a href=${href('reservations', { id: reserved.id })}>${reserved.id}</a>:${' '}
          ${when(reserved.start)} → ${when(reserved.end)}, ${money(reserved.total_micros)} ${reserved.currency} (${reserved.state}).</p>`
      : null}
  </aside>`;
}
