// reservations_time.js — the Reservations timeline's arithmetic, kept apart from its markup:
// the zoom levels and the window they show (its start is in the URL, so a view is a
// bookmark), the ticks of the time axis, and the rows and holds of the grid built once from
// the API's answers (80,000 GPUs: indexed by GPU, filtered per view, never scanned per frame).

const HOUR = 3600e3;
const DAY = 24 * HOUR;

// The zoom levels, closest first: the window's length and how its axis is ruled.
export const ZOOMS = [
  { id: 'day', label: 'Day', span: DAY, snap: HOUR, line: HOUR, label_every: 3 * HOUR },
  { id: 'week', label: 'Week', span: 7 * DAY, snap: DAY, line: 6 * HOUR, label_every: DAY },
  { id: 'month', label: 'Month', span: 30 * DAY, snap: DAY, line: DAY, label_every: 3 * DAY },
  { id: 'quarter', label: 'Quarter', span: 91 * DAY, snap: DAY, line: 7 * DAY, label_every: 7 * DAY },
];

export function zoomOf(id) {
  return ZOOMS.find((z) => z.id === id) || ZOOMS[1];
}

export const ms = (iso) => (iso ? Date.parse(iso) : NaN);

const floorTo = (t, step) => Math.floor(t / step) * step;

// "2026-12-07T10:00Z": the window's start as the URL keeps it (UTC, to the minute).
export function fmtFrom(t) {
  return new Date(t).toISOString().slice(0, 16) + 'Z';
}

// The window's start: the URL's `from` when it is a time, else the zoom's default (today
// 00:00 UTC for a day, the day before for the longer views, so that "now" is near the left).
export function windowStart(from, zoom, now = Date.now()) {
  const t = ms(from);
  if (Number.isFinite(t)) return floorTo(t, 60e3);
  const today = floorTo(now, DAY);
  return zoom.id === 'day' ? today : today - DAY;
}

// The start after zooming to `next` around the middle of the current window.
export function zoomAround(start, zoom, next) {
  const mid = start + zoom.span / 2;
  return floorTo(mid - next.span / 2, next.snap);
}

const WD = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function dayLabel(t) {
  const d = new Date(t);
  return `${d.getUTCDate()} ${MON[d.getUTCMonth()]}`;
}

// "7 Dec 2026 00:00" (UTC): the ends of the window in the toolbar.
export function longLabel(t) {
  const d = new Date(t);
  return `${dayLabel(t)} ${d.getUTCFullYear()} ${d.toISOString().slice(11, 16)}`;
}

// The axis: a line every zoom.line and a label every zoom.label_every, in UTC; quarter views
// rule weeks from Monday and mark each month's first day.
export function ticks(start, zoom) {
  const end = start + zoom.span;
  const out = [];
  let t = floorTo(start, zoom.line);
  if (zoom.id === 'quarter') t = floorTo(start, DAY) - ((new Date(floorTo(start, DAY)).getUTCDay() + 6) % 7) * DAY;
  for (; t < end; t += zoom.line) {
    if (t < start) continue;
    const d = new Date(t);
    let text = '';
    if (zoom.id === 'day' && t % zoom.label_every === 0) text = d.toISOString().slice(11, 16);
    else if (zoom.id === 'week' && t % DAY === 0) text = `${WD[d.getUTCDay()]} ${dayLabel(t)}`;
    else if (zoom.id === 'month' && Math.round((t - floorTo(start, DAY)) / DAY) % 3 === 0) text = `${WD[d.getUTCDay()].slice(0, 2)} ${dayLabel(t)}`;
    else if (zoom.id === 'quarter') text = dayLabel(t);
    out.push({ t, text, major: t % DAY === 0 });
  }
  if (zoom.id === 'quarter') {
    // each month's first day, a stronger line
    const d = new Date(start);
    let m = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    for (; m < end; m = Date.UTC(new Date(m).getUTCFullYear(), new Date(m).getUTCMonth() + 1, 1))
      out.push({ t: m, text: '', month: `${MON[new Date(m).getUTCMonth()]} ${new Date(m).getUTCFullYear()}`, major: true });
  }
  return out;
}

// A GPU row's sort key: node name, then its index (gpu ids end with "-<index>").
function rowOrder(a, b) {
  return a.node < b.node ? -1 : a.node > b.node ? 1 : a.index - b.index;
}

// The grid's data, built once per answer: rows (one per GPU: id, node, index, model, units,
// status) and holds by GPU id ({rsv, alloc, unit, t0, t1, top, size} sorted by t0).
// Operators' rows are the fleet (GET /v1/nodes); an org's people see the GPUs their org's
// reservations hold, from the allocations (they may not list the fleet).
export function buildModel(nodes, reservations, models) {
  const unitsOf = new Map();
  const sizeOf = new Map();
  for (const m of models || []) {
    unitsOf.set(m.name, m.units || 0);
    for (const p of m.profiles || []) sizeOf.set(`${m.name}/${p.name}`, p.size);
  }
  const rows = [];
  const byId = new Map();
  const addRow = (r) => {
    if (byId.has(r.id)) return byId.get(r.id);
    r.units = unitsOf.get(r.model) || 0;
    byId.set(r.id, r);
    rows.push(r);
    return r;
  };
  for (const n of nodes || [])
    for (const g of n.gpus || []) addRow({ id: g.id, node: n.name, index: g.index, model: g.model, status: g.status });
  const holds = new Map();
  for (const r of reservations) {
    const t0 = ms(r.start), t1 = ms(r.end);
    (r.allocations || []).forEach((a, unit) => {
      const row = addRow({ id: a.gpu, node: a.node, index: Number((/-(\d+)$/.exec(a.gpu) || [])[1] || 0), model: r.model, status: '' });
      const h = { rsv: r, alloc: a, unit, t0, t1, top: 0, size: 0 };
      if (a.kind === 'mig' && row.units) {
        h.top = a.start_unit || 0;
        h.size = sizeOf.get(`${row.model}/${a.profile}`) || 1;
      }
      if (!holds.has(a.gpu)) holds.set(a.gpu, []);
      holds.get(a.gpu).push(h);
    });
  }
  for (const list of holds.values()) list.sort((a, b) => a.t0 - b.t0);
  rows.sort(rowOrder);
  return { rows, holds };
}

// The holds of `list` that pass the filter and meet [t0, t1).
export function holdsIn(list, f, t0, t1) {
  if (!list) return [];
  return list.filter((h) => h.t0 < t1 && h.t1 > t0 && (!f.org || h.rsv.org === f.org) && (!f.state || h.rsv.state === f.state));
}

// The rows the filters leave: node (a part of its name), model; with an org or a state
// filter, or `held`, only GPUs with such holds (in the window, for `held`).
export function visibleRows(model, f, t0, t1) {
  const node = (f.node || '').toLowerCase();
  const any = f.org || f.state;
  return model.rows.filter((r) => {
    if (node && !r.node.toLowerCase().includes(node)) return false;
    if (f.model && r.model !== f.model) return false;
    if (!any && !f.held) return true;
    const list = model.holds.get(r.id);
    if (!list) return false;
    return f.held ? holdsIn(list, f, t0, t1).length > 0 : holdsIn(list, f, -Infinity, Infinity).length > 0;
  });
}
