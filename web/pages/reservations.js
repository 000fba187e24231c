// reservations.js — Reservations: a timeline per node and GPU of the holds reservations have
// on them, whole GPUs and MIG instances (drawn as their share of the GPU's placement units),
// from a day to a quarter. The window (zoom and start), the filters (org, node, model, state)
// and the reservation open are in the URL, so a view is a bookmark. Operators see the fleet
// and every org; an org's admins and members see their org's reservations on the GPUs they
// hold (the API lists them nothing else). Keyboard: arrows pan, + and - zoom, Escape closes.
import { html, useEffect, useMemo, useState } from '../lib/html.js';
import { api } from '../lib/api.js';
import { setParams } from '../lib/route.js';
import { Busy, FormError, useEvents } from '../lib/ui.js';
import { Grid, ROW } from './reservations_grid.js';
import { Detail } from './reservations_detail.js';
import { ZOOMS, buildModel, fmtFrom, longLabel, visibleRows, windowStart, zoomAround, zoomOf } from './reservations_time.js';

const MAX_NODES = 20000; // 160,000 GPUs at 8 a node
const MAX_RESERVATIONS = 200000;
const STATES = ['scheduled', 'provisioning', 'active', 'ended', 'cancelled'];

// Every item of the list at `path`, 500 a page, up to `max`; onPage(items so far, last?).
// `after`: a promise the pages after the first wait for.
async function pages(path, max, onPage, signal, after = null) {
  let items = [];
  let cursor = null;
  do {
    if (items.length && after) await after;
    const q = `limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const p = await api('GET', `${path}?${q}`, undefined, { signal });
    items = items.concat(p.items);
    cursor = p.next_cursor;
    onPage(items, !cursor || items.length >= max);
  } while (cursor && items.length < max);
}

// The fleet (operators), the reservations and the catalog, read once per visit. The page is
// ready once the reservations, the catalog and the fleet's first page are in (80,000 GPUs are
// 20 pages); the rest of the fleet joins the grid as it comes (at most every 400 ms), and
// `complete` says when it all has.
function useData(me) {
  const [data, setData] = useState(null);
  const [err, setErr] = useState(null);
  const [box] = useState(() => ({ nodes: [], rsv: null, models: null, done: me.role !== 'operator', last: 0 }));
  const push = (force) => {
    if (!box.rsv || !box.models || (!box.done && !box.nodes.length)) return;
    if (!force && performance.now() - box.last < 400) return;
    box.last = performance.now();
    setData({ nodes: box.nodes, reservations: box.rsv, models: box.models, complete: box.done });
  };
  useEffect(() => {
    const ctl = new AbortController();
    const fail = (e) => {
      if (e.name === 'AbortError') return;
      setErr(e);
      Object.assign(box, { rsv: box.rsv || [], models: box.models || [], done: true });
      push(true);
    };
    const nodes = (items, last) => {
      box.nodes = items;
      box.done = last;
      push(last || items.length <= 500); // the first page at once, then at most every 400 ms
    };
    const reservations = (items, last) => last && ((box.rsv = items), push(true));
    const rsv = pages('/v1/reservations', MAX_RESERVATIONS, reservations, ctl.signal);
    rsv.catch(fail);
    // the fleet's first page beside the reservations, the rest after them: the page is ready
    // sooner, and the whole fleet is read as soon as before
    if (me.role === 'operator') pages('/v1/nodes', MAX_NODES, nodes, ctl.signal, rsv.catch(() => {})).catch(fail);
    api('GET', '/v1/models', undefined, { signal: ctl.signal })
      .then((m) => ((box.models = m.items), push(true)), fail);
    return () => ctl.abort();
  }, []);
  // a reservation changed (an action here, or anyone's, over the event stream): its new copy
  const replace = (...list) => {
    if (box.rsv) box.rsv = list.reduce(upsert, box.rsv);
    setData((d) => (d ? { ...d, reservations: list.reduce(upsert, d.reservations) } : d));
  };
  return { data, err, replace };
}

// The reservations the event stream says changed, read again once a second at most, in one
// batch (a busy fleet changes hundreds a minute; each change redraws an index of 80,000 rows).
function useLive(replace) {
  const [live] = useState(() => ({ ids: new Set(), timer: null }));
  const flush = () => {
    const ids = [...live.ids].slice(0, 100);
    ids.forEach((id) => live.ids.delete(id));
    live.timer = live.ids.size ? setTimeout(flush, 1000) : null;
    Promise.all(ids.map((id) => api('GET', `/v1/reservations/${encodeURIComponent(id)}`).catch(() => null)))
      .then((list) => replace(...list.filter(Boolean)));
  };
  useEffect(() => () => clearTimeout(live.timer), []);
  useEvents((ev) => {
    if (!ev.object || !ev.object.startsWith('rsv_')) return;
    live.ids.add(ev.object);
    if (!live.timer) live.timer = setTimeout(flush, 1000);
  }, { kind: 'reservation.' });
}

function upsert(list, r) {
  const i = list.findIndex((x) => x.id === r.id);
  if (i < 0) return [...list, r];
  const next = list.slice();
  next[i] = { ...list[i], ...r };
  return next;
}

const num = (n) => n.toLocaleString('en-US');

// How many reservations the filter leaves ({org, state}), and how many meet [start, end).
function countOf(list, f, start, end) {
  const match = list.filter((r) => (!f.org || r.org === f.org) && (!f.state || r.state === f.state));
  let inView = 0;
  for (const r of match) if (Date.parse(r.start) < end && Date.parse(r.end) > start) inView++;
  return { all: list.length, match: match.length, inView };
}

// [[org id, name]] of the orgs with reservations, by name: the operator's org filter.
function orgsOf(list) {
  return [...new Map(list.map((r) => [r.org, r.org_name || r.org]))].sort((a, b) => (a[1] < b[1] ? -1 : 1));
}

function countWords(c, gpus, showOrg, complete) {
  const of = c.match !== c.all ? ` (of ${num(c.all)})` : '';
  const fleet = complete ? `${num(gpus)} GPUs${showOrg ? '' : ' held by your org'}` : `reading the fleet: ${num(gpus)} GPUs so far…`;
  return `${num(c.match)} reservation${c.match === 1 ? '' : 's'}${of}, ${num(c.inView)} in this window · ${fleet}`;
}

function Filters({ params, orgs, models, showOrg }) {
  const [node, setNode] = useState(params.node || '');
  const set = (k) => (e) => setParams({ [k]: e.currentTarget.value, rsv: params.rsv });
  return html`<form class="toolbar rsv-filters" onSubmit=${(e) => (e.preventDefault(), setParams({ node: node.trim() }))}>
    ${showOrg
      ? html`<label class="field"><span>Org</span><select name="org" value=${params.org || ''} onChange=${set('org')}>
          <option value="">every org</option>
          ${orgs.map(([id, name]) => html`<option value=${id}>${name}</option>`)}</select></label>`
      : null}
    <label class="field"><span>Node</span>
      <input name="node" value=${node} placeholder="a part of its name" size="14"
        onInput=${(e) => setNode(e.currentTarget.value)} onChange=${(e) => setParams({ node: e.currentTarget.value.trim() })} /></label>
    <label class="field"><span>Model</span><select name="model" value=${params.model || ''} onChange=${set('model')}>
      <option value="">every model</option>${models.map((m) => html`<option value=${m}>${m}</option>`)}</select></label>
    <label class="field"><span>State</span><select name="state" value=${params.state || ''} onChange=${set('state')}>
      <option value="">every state</option>${STATES.map((s) => html`<option value=${s}>${s}</option>`)}</select></label>
    <label class="check"><input type="checkbox" name="held" checked=${params.held === '1'}
      onChange=${(e) => setParams({ held: e.currentTarget.checked ? '1' : '' })} /> only GPUs held in this window</label>
  </form>`;
}

function Zoom({ zoom, start, onZoom, onPan, onToday }) {
  return html`<div class="toolbar rsv-zoom" role="group" aria-label="the window">
    <div class="seg">${ZOOMS.map((z) => html`<button type="button" data-action=${`zoom-${z.id}`} class=${z.id === zoom.id ? '' : 'secondary'}
      aria-pressed=${z.id === zoom.id ? 'true' : 'false'} onClick=${() => onZoom(z)}>${z.label}</button>`)}</div>
    <button type="button" class="secondary" data-action="earlier" onClick=${() => onPan(-1)} aria-label="earlier">←</button>
    <button type="button" class="secondary" data-action="today" onClick=${onToday}>Today</button>
    <button type="button" class="secondary" data-action="later" onClick=${() => onPan(1)} aria-label="later">→</button>
    <span class="rsv-span" data-span=${`${fmtFrom(start)}/${fmtFrom(start + zoom.span)}`}>
      ${longLabel(start)} → ${longLabel(start + zoom.span)} UTC</span>
  </div>`;
}

function Reservations({ me, params }) {
  const { data, err, replace } = useData(me);
  const zoom = zoomOf(params.zoom);
  const start = windowStart(params.from, zoom);
  const end = start + zoom.span;
  const showOrg = me.role === 'operator';
  const model = useMemo(() => data && buildModel(data.nodes, data.reservations, data.models), [data]);
  const filter = {
    org: params.org || '', node: params.node || '', model: params.model || '', state: params.state || '', held: params.held === '1',
  };
  const rows = useMemo(() => (model ? visibleRows(model, filter, start, end) : []),
    [model, filter.org, filter.node, filter.model, filter.state, filter.held, filter.held && start, filter.held && zoom.id]);
  const counts = useMemo(() => data && countOf(data.reservations, filter, start, end), [data, filter.org, filter.state, start, end]);
  const orgs = useMemo(() => (data ? orgsOf(data.reservations) : []), [data]);
  const models = useMemo(() => (model ? [...new Set(model.rows.map((r) => r.model))].sort() : []), [model]);
  useLive(replace);

  const go = (s, z = zoom) => setParams({ from: fmtFrom(s), zoom: z.id });
  const pan = (dir, whole) => go(start + dir * (whole ? zoom.span : Math.max(zoom.snap, zoom.span / 4)));
  const zoomTo = (z) => z.id !== zoom.id && go(zoomAround(start, zoom, z), z);
  const step = (d) => {
    const i = ZOOMS.findIndex((z) => z.id === zoom.id) + d;
    if (i >= 0 && i < ZOOMS.length) zoomTo(ZOOMS[i]);
  };
  const today = () => setParams({ from: '', zoom: zoom.id });
  const onKey = (e) => {
    if (e.target.closest && e.target.closest('input, select, textarea')) return;
    const k = {
      ArrowLeft: () => pan(-1, e.shiftKey), ArrowRight: () => pan(1, e.shiftKey),
      '+': () => step(-1), '=': () => step(-1), '-': () => step(1),
      Escape: () => params.rsv && setParams({ rsv: '' }),
    }[e.key];
    if (k) (e.preventDefault(), k());
  };
  const open = (id) => setParams({ rsv: id === params.rsv ? '' : id });
  const summary = data && params.rsv ? data.reservations.find((r) => r.id === params.rsv) : null;
  const height = Math.max(80, Math.min(Math.max(260, window.innerHeight - 300), rows.length * ROW + 2));
  return html`<section data-page="reservations" data-ready=${data ? '1' : '0'} data-complete=${data && data.complete ? '1' : '0'}
    class="rsv-page" onKeyDown=${onKey}>
    <div class="rsv-title">
      <h1>Reservations</h1>
      ${counts
        ? html`<span class="muted" data-count=${counts.match} data-total=${counts.all} data-in-view=${counts.inView}>
            ${countWords(counts, model.rows.length, showOrg, data.complete)}</span>`
        : null}
    </div>
    ${data ? html`<${Filters} params=${params} orgs=${orgs} models=${models} showOrg=${showOrg} />` : null}
    <${Zoom} zoom=${zoom} start=${start} onZoom=${zoomTo} onPan=${pan} onToday=${today} />
    <${FormError} err=${err} />
    ${!data
      ? html`<${Busy} what=${showOrg ? 'Reading the fleet and its reservations' : 'Reading your org’s reservations'} />`
      : html`<div class=${`rsv-body${params.rsv ? ' with-detail' : ''}`}>
          <${Grid} rows=${rows} holds=${model.holds} start=${start} zoom=${zoom} filter=${filter} selected=${params.rsv}
            showOrg=${showOrg} onOpen=${open} height=${height} />
          ${params.rsv
            ? html`<${Detail} key=${params.rsv} id=${params.rsv} summary=${summary} me=${me} onChange=${replace}
                onClose=${() => setParams({ rsv: '' })} />`
            : null}
        </div>
        <p class="muted rsv-legend"><span class="swatch hold-gpu"></span> a whole GPU
          <span class="swatch hold-mig"></span> a MIG instance, at its placement units (top = unit 0)
          <span class="swatch hold-cancelled"></span> cancelled${' · '}
          ${!showOrg && model.rows.length === 0 ? 'your org holds nothing yet' : 'click a hold for its details'}</p>`}
  </section>`;
}

export default { id: 'reservations', title: 'Reservations', roles: ['operator', 'org_admin', 'member'], view: Reservations };
