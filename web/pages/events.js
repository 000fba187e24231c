// events.js — the audit log: every event the caller may read (operators: all; an org's
// admins and members: their org's), newest first 500 at a time (Older events reads on), filtered
// by kind and object (the filters are in the URL), and live: new events arrive over the event
// stream as they are committed.
import { html, useEffect, useMemo, useState } from '../lib/html.js';
import { api, qs } from '../lib/api.js';
import { setParams } from '../lib/route.js';
import { Busy, FormError, VirtualList, useEvents, when } from '../lib/ui.js';

const PAGE = 500; // events read at a time, newest first (GET /v1/events?order=desc)

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
  const [older, setOlder] = useState(null); // the cursor of the next older page, or null
  const [err, setErr] = useState(null);
  const [open, setOpen] = useState(null);
  const [busy, setBusy] = useState(false);
  const [kind, setKind] = useState(params.kind || '');
  const [object, setObject] = useState(params.object || '');
  const filter = { kind: params.kind || '', object: params.object || '' };
  const more = async (cursor, signal) => {
    const page = await api('GET', `/v1/events${qs({ ...filter, order: 'desc', limit: PAGE, cursor })}`, undefined, { signal });
    setItems((prev) => (cursor && prev ? [...prev, ...page.items] : page.items));
    setOlder(page.next_cursor);
  };
  useEffect(() => {
    const ctl = new AbortController();
    setItems(null);
    setErr(null);
    more(null, ctl.signal).catch((e) => e.name !== 'AbortError' && (setErr(e), setItems([])));
    return () => ctl.abort();
  }, [filter.kind, filter.object]);
  const loadOlder = () => {
    setBusy(true);
    more(older).catch(setErr).finally(() => setBusy(false));
  };
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
      <span class="muted" data-count>${items ? `${items.length}${older ? '+' : ''} event${items.length === 1 ? '' : 's'}, newest first, live` : ''}</span>
    </form>
    <${FormError} err=${err} />
    ${!items
      ? html`<${Busy} what="Reading the event log" />`
      : html`<${VirtualList} label="events" items=${items} rowHeight=${30} height=${Math.max(240, window.innerHeight - 260)}
          header=${html`<span class="c1">When</span><span class="c1">Kind</span><span class="c1">Object</span><span class="c1">Actor</span><span class="c1">Orgs</span><span class="c3">Data</span>`}
          render=${(ev) => html`<${Row} ev=${ev} open=${ev.id === open} onOpen=${setOpen} />`} />`}
    ${older
      ? html`<p><button class="secondary" data-action="older" disabled=${busy} onClick=${loadOlder}>Older events</button></p>`
      : null}
    ${chosen
      ? html`<div class="card" data-detail=${chosen.id}><h2>${chosen.kind} <span class="muted mono">${chosen.id}</span></h2>
          <pre class="mono">${JSON.stringify(chosen, null, 2)}</pre></div>`
      : null}
  </section>`;
}

export default { id: 'events', title: 'Events', roles: ['operator', 'org_admin', 'member'], view: Events };
