// events.js — the audit log: every event the caller may read (operators: all; an org's
// admins and members: their org's), newest first, filtered by kind and object (the filters
// are in the URL), and live: new events arrive over the event stream as they are committed.
import { html, useEffect, useMemo, useState } from '../lib/html.js';
import { apiAll, qs } from '../lib/api.js';
import { setParams } from '../lib/route.js';
import { Busy, FormError, VirtualList, useEvents, when } from '../lib/ui.js';

const MAX = 20000; // events read at open; older ones stay in the API (allot events --after)

function summary(ev) {
  if (!ev.data) return '';
  return Object.entries(ev.data)
    .filter(([, v]) => v !== null && typeof v !== 'object')
    .slice(0, 6)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function Row({ ev, open, onOpen }) {
  return html`<button class="link rowbtn c1 mono" data-id=${ev.id} aria-expanded=${open ? 'true' : 'false'}
      onClick=${() => onOpen(open ? null : ev.id)}>${when(ev.at)}</button>
    <span class="c1 mono">${ev.kind}</span>
    <span class="c1 mono">${ev.object || '—'}</span>
    <span class="c1">${ev.actor}</span>
    <span class="c1">${(ev.orgs || []).join(', ') || '—'}</span>
    <span class="c3 muted">${summary(ev)}</span>`;
}

function Events({ params }) {
  const [items, setItems] = useState(null);
  const [err, setErr] = useState(null);
  const [open, setOpen] = useState(null);
  const [kind, setKind] = useState(params.kind || '');
  const [object, setObject] = useState(params.object || '');
  const filter = { kind: params.kind || '', object: params.object || '' };
  useEffect(() => {
    const ctl = new AbortController();
    setItems(null);
    setErr(null);
    apiAll(`/v1/events${qs(filter)}`, MAX, { signal: ctl.signal })
      .then((all) => setItems(all.reverse()))
      .catch((e) => e.name !== 'AbortError' && (setErr(e), setItems([])));
    return () => ctl.abort();
  }, [filter.kind, filter.object]);
  useEvents((ev) => setItems((prev) => (prev && !prev.some((x) => x.id === ev.id) ? [ev, ...prev] : prev)),
    filter, [filter.kind, filter.object]);
  const chosen = useMemo(() => items && items.find((x) => x.id === open), [items, open]);
  const apply = (e) => {
    e.preventDefault();
    setParams({ kind: kind.trim(), object: object.trim() });
  };
  return html`<section data-page="events" data-ready=${items ? '1' : '0'}>
    <h1>Events</h1>
    <form class="toolbar" onSubmit=${apply}>
      <label class="field"><span>Kind</span>
        <input name="kind" value=${kind} placeholder="reservation. or reservation.active" onInput=${(e) => setKind(e.currentTarget.value)} /></label>
      <label class="field"><span>Object</span>
        <input name="object" value=${object} placeholder="rsv_… or a node name" onInput=${(e) => setObject(e.currentTarget.value)} /></label>
      <button type="submit" data-action="filter">Filter</button>
      ${filter.kind || filter.object
        ? html`<button type="button" class="secondary" data-action="clear" onClick=${() => (setKind(''), setObject(''), setParams({ kind: '', object: '' }))}>Clear</button>`
        : null}
      <span class="muted" data-count>${items ? `${items.length} event${items.length === 1 ? '' : 's'}, live` : ''}</span>
    </form>
    <${FormError} err=${err} />
    ${!items
      ? html`<${Busy} what="Reading the event log" />`
      : html`<${VirtualList} label="events" items=${items} rowHeight=${30} height=${Math.max(240, window.innerHeight - 260)}
          header=${html`<span class="c1">When</span><span class="c1">Kind</span><span class="c1">Object</span><span class="c1">Actor</span><span class="c1">Orgs</span><span class="c3">Data</span>`}
          render=${(ev) => html`<${Row} ev=${ev} open=${ev.id === open} onOpen=${setOpen} />`} />`}
    ${chosen
      ? html`<div class="card" data-detail=${chosen.id}><h2>${chosen.kind} <span class="muted mono">${chosen.id}</span></h2>
          <pre class="mono">${JSON.stringify(chosen, null, 2)}</pre></div>`
      : null}
  </section>`;
}

export default { id: 'events', title: 'Events', roles: ['operator', 'org_admin', 'member'], view: Events };
