// requests.js — the Requests page: the queue of requests (operators: every org's, filtered by
// state and org in the URL; org admins and members: their org's), newest first, with counts
// per state and what each waits for; `?id=req_…` opens one (requests_detail.js). Live: the
// list reloads when a request.* event arrives.
import { html, useEffect, useMemo, useState } from '../lib/html.js';
import { apiAll, qs } from '../lib/api.js';
import { href, setParams } from '../lib/route.js';
import { Badge, Busy, FormError, VirtualList, money, useEvents } from '../lib/ui.js';
import { MOVE_WORDS, STATES, ask, short, shortPeriod } from './requests_words.js';
import { RequestDetail } from './requests_detail.js';

const MAX = 5000; // the newest requests read at open (GET /v1/requests?order=desc); older ones: ?org=

// Whose move a state is: the operator's, the org admin's, or nobody's.
const MOVE = { submitted: 'operator', quoted: 'operator', approved: 'org_admin', accepted: 'operator' };

function Row({ r, params, role }) {
  return html`<a class="c2 mono" data-id=${r.id} href=${href('requests', { ...params, id: r.id })}>${r.id}</a>
    ${role === 'operator' ? html`<span class="c1">${r.org_name || r.org}</span>` : null}
    <span class="c1"><${Badge} state=${r.state} /></span>
    <span class="c3">${ask(r)}</span>
    <span class="c3">${shortPeriod(r)}</span>
    <span class="cnum">${r.quote ? money(r.quote.total_micros) : '—'}</span>
    <span class="c2">${MOVE_WORDS[r.state] ? html`<span class=${MOVE[r.state] === role ? 'yours' : 'muted'}>${MOVE_WORDS[r.state]}</span>` : r.reservation ? html`<span class="mono muted">${r.reservation}</span>` : ''}</span>
    <span class="c1 muted">${short(r.created_at)}</span>`;
}

function StateChips({ items, state, role }) {
  const counts = {};
  for (const r of items) counts[r.state] = (counts[r.state] || 0) + 1;
  const chip = (s, label, n) => html`<button type="button" class=${`chip${state === s ? ' on' : ''}`} data-action="state"
      data-state=${s} aria-pressed=${state === s ? 'true' : 'false'} onClick=${() => setParams({ state: s })}>
      ${label} <b>${n}</b></button>`;
  const mine = items.filter((r) => MOVE[r.state] === role).length;
  return html`<div class="chips" role="group" aria-label="states">
    ${chip('', 'all', items.length)}
    ${role !== 'member' ? chip('mine', 'waiting for me', mine) : null}
    ${STATES.filter((s) => counts[s]).map((s) => chip(s, s, counts[s]))}
  </div>`;
}

function Queue({ me, params }) {
  const [items, setItems] = useState(null);
  const [err, setErr] = useState(null);
  const [org, setOrg] = useState(params.org || '');
  const [tick, setTick] = useState(0);
  const state = params.state || '';
  useEffect(() => {
    const ctl = new AbortController();
    setErr(null);
    apiAll(`/v1/requests${qs({ org: params.org, order: 'desc' })}`, MAX, { signal: ctl.signal })
      .then(setItems)
      .catch((e) => e.name !== 'AbortError' && (setErr(e), setItems([])));
    return () => ctl.abort();
  }, [params.org, tick]);
  useEvents(() => setTick((t) => t + 1), { kind: 'request.' }, []);
  const shown = useMemo(() => {
    if (!items) return null;
    if (state === 'mine') return items.filter((r) => MOVE[r.state] === me.role);
    return state ? items.filter((r) => r.state === state) : items;
  }, [items, state]);
  const apply = (e) => {
    e.preventDefault();
    setParams({ org: org.trim() });
  };
  return html`<section data-page="requests" data-ready=${items ? '1' : '0'}>
    <div class="orghead"><h1>Requests</h1>
      ${me.role !== 'member' ? html`<a class="button" data-action="new-request" href=${href('request', params.org ? { org: params.org } : {})}>New request</a>` : null}</div>
    <p class="muted">${me.role === 'operator'
      ? 'Every org\'s requests. Quote, approve, reject and confirm them here; an org admin accepts the quote.'
      : `The requests of your org. ${me.role === 'org_admin' ? 'Accept a quote the operator approved, or cancel a request.' : 'Org admins accept quotes; the operator quotes and confirms.'}`}</p>
    ${me.role === 'operator'
      ? html`<form class="toolbar" onSubmit=${apply}>
          <label class="field inline"><span>Org</span>
            <input name="org" value=${org} placeholder="name, id or customer code" onInput=${(e) => setOrg(e.currentTarget.value)} /></label>
          <button type="submit" data-action="filter">Filter</button>
          ${params.org ? html`<button type="button" class="secondary" data-action="clear" onClick=${() => (setOrg(''), setParams({ org: '' }))}>All orgs</button>` : null}
        </form>`
      : null}
    <${FormError} err=${err} />
    ${!shown
      ? html`<${Busy} what="Reading the requests" />`
      : html`<${StateChips} items=${items} state=${state} role=${me.role} />
        ${items.length >= MAX ? html`<p class="muted" data-truncated>The newest ${MAX.toLocaleString('en-US')} requests${me.role === 'operator' ? '; name an org to see older ones of it' : ''}.</p>` : null}
        ${shown.length
          ? html`<${VirtualList} label="requests" items=${shown} rowHeight=${34} height=${Math.min(shown.length * 34 + 2, Math.max(240, window.innerHeight - 300))}
              header=${html`<span class="c2">Request</span>${me.role === 'operator' ? html`<span class="c1">Org</span>` : null}<span class="c1">State</span><span class="c3">Ask</span><span class="c3">Period (UTC)</span><span class="cnum">Quote USD</span><span class="c2">Next step</span><span class="c1">Created</span>`}
              render=${(r) => html`<${Row} r=${r} params=${params} role=${me.role} />`} />`
          : html`<p class="card muted" data-empty>No requests${state ? ` ${state === 'mine' ? 'waiting for you' : `in state ${state}`}` : ''}.</p>`}`}
  </section>`;
}

function Requests({ me, params }) {
  if (params.id) return html`<${RequestDetail} key=${params.id} me=${me} params=${params} />`;
  return html`<${Queue} me=${me} params=${params} />`;
}

export default { id: 'requests', title: 'Requests', roles: ['operator', 'org_admin', 'member'], view: Requests };
