// reservations_grid.js — the timeline grid: one row per GPU (its node, index and model on the
// left), time running left to right over the window, a reservation's hold on the GPU drawn as
// a bar from its start to its end, a MIG instance as its share of the GPU's placement units
// (a 3g.40gb at units 0-3 of 8 fills the top half of the row). Only the rows in view are in
// the DOM, each with only the holds that meet the window: the grid is as cheap for 80,000
// GPUs as for eight. Everything is placed with Preact's object styles (CSSOM), which the
// page's Content-Security-Policy allows where a style attribute in markup is refused.
import { html, useEffect, useRef, useState } from '../lib/html.js';
import { when } from '../lib/ui.js';
import { holdsIn, ticks } from './reservations_time.js';

export const ROW = 38; // px per GPU row
const LABEL = 210; // px of the row's name column
const OVER = 6; // rows rendered beyond the viewport, either side
const PALETTE = 8; // .rsv-c0 … .rsv-c7: one colour per org (per reservation in an org's view)

function colourOf(org) {
  let h = 0;
  for (let i = 0; i < org.length; i++) h = (h * 31 + org.charCodeAt(i)) >>> 0;
  return `rsv-c${h % PALETTE}`;
}

function holdText(h, showOrg) {
  const r = h.rsv;
  const what = h.alloc.kind === 'mig' ? h.alloc.profile : `${r.count} GPU${r.count === 1 ? '' : 's'}`;
  // an org's own view: one colour and one name per reservation (the id's tail tells them apart)
  return showOrg ? `${r.org_name || r.org} · ${what}` : `…${r.id.slice(-6)} · ${what}`;
}

function holdTitle(h, units) {
  const r = h.rsv, a = h.alloc;
  const where = a.kind === 'mig' ? `${a.profile} on units ${h.top}-${h.top + h.size - 1} of ${units}` : 'whole GPU';
  return `${r.id} (${r.state}) · ${r.org_name || r.org}\n${when(r.start)} → ${when(r.end)}\n${a.gpu} on ${a.node}: ${where}`;
}

function Hold({ h, x0, scale, laneW, units, selected, showOrg, onOpen }) {
  const left = Math.max(0, (h.t0 - x0) * scale);
  const right = Math.min(laneW, (h.t1 - x0) * scale);
  const style = { left: `${left}px`, width: `${Math.max(3, right - left)}px` };
  if (h.size && units) {
    style.top = `${3 + (h.top / units) * (ROW - 6)}px`;
    style.height = `${Math.max(3, (h.size / units) * (ROW - 6))}px`;
  }
  const thin = h.size && (h.size / units) * (ROW - 6) < 14; // too thin for its name
  const cls = ['hold', colourOf(showOrg ? h.rsv.org : h.rsv.id), `hold-${h.rsv.state}`, h.size ? 'hold-mig' : 'hold-gpu',
    selected ? 'hold-sel' : '', thin ? 'hold-thin' : ''].join(' ');
  return html`<button class=${cls} style=${style} data-id=${h.rsv.id} data-gpu=${h.alloc.gpu}
      data-unit=${h.unit} title=${holdTitle(h, units)} aria-pressed=${selected ? 'true' : 'false'}
      onClick=${() => onOpen(h.rsv.id)}><span>${holdText(h, showOrg)}</span></button>`;
}

function Row({ row, i, holds, x0, x1, scale, laneW, filter, selected, showOrg, onOpen }) {
  const list = holdsIn(holds.get(row.id), filter, x0, x1);
  return html`<div class="rsv-row" role="row" data-gpu=${row.id} style=${{ transform: `translateY(${i * ROW}px)` }}>
    <div class=${`rsv-label${row.status && row.status !== 'available' ? ' rsv-down' : ''}`} role="rowheader">
      <span class="mono">${row.node}</span><span class="muted"> #${row.index}</span>
      <small class="muted">${row.model}${row.status && row.status !== 'available' ? ` · ${row.status}` : ''}</small>
    </div>
    <div class="rsv-lane" role="gridcell">
      ${row.units && list.some((h) => h.size) ? html`<div class="rsv-units" style=${{ backgroundSize: `100% ${(ROW - 6) / row.units}px` }}></div>` : null}
      ${list.map((h) => html`<${Hold} key=${`${h.rsv.id}/${h.unit}`} h=${h} x0=${x0} scale=${scale} laneW=${laneW}
        units=${row.units} selected=${selected === h.rsv.id} showOrg=${showOrg} onOpen=${onOpen} />`)}
    </div>
  </div>`;
}

// rows: the GPUs to show (filtered); holds: Map gpu id → holds; start, zoom: the window;
// filter: {org, state}; selected: the reservation open; onOpen(id); height: px of the viewport.
export function Grid({ rows, holds, start, zoom, filter, selected, showOrg, onOpen, height }) {
  const box = useRef(null);
  const [top, setTop] = useState(0);
  const [width, setWidth] = useState(1000);
  useEffect(() => {
    if (!box.current) return undefined;
    const ro = new ResizeObserver(() => box.current && setWidth(box.current.clientWidth));
    ro.observe(box.current);
    setWidth(box.current.clientWidth);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    // a new filter: back to the first row
    if (box.current && box.current.scrollTop > rows.length * ROW) box.current.scrollTop = 0;
  }, [rows]);
  const laneW = Math.max(100, width - LABEL);
  const x0 = start, x1 = start + zoom.span;
  const scale = laneW / zoom.span;
  const first = Math.max(0, Math.floor(top / ROW) - OVER);
  const last = Math.min(rows.length, Math.ceil((top + height) / ROW) + OVER);
  const axis = ticks(start, zoom);
  const now = Date.now();
  const shown = [];
  for (let i = first; i < last; i++)
    shown.push(html`<${Row} key=${rows[i].id} row=${rows[i]} i=${i} holds=${holds} x0=${x0} x1=${x1} scale=${scale}
      laneW=${laneW} filter=${filter} selected=${selected} showOrg=${showOrg} onOpen=${onOpen} />`);
  const px = (t) => `${LABEL + (t - x0) * scale}px`;
  return html`<div class="rsv-grid" role="grid" aria-label="reservations by GPU over time" aria-rowcount=${rows.length}>
    <div class=${`rsv-axis rsv-axis-${zoom.id}`} aria-hidden="true">
      <div class="rsv-corner">${rows.length.toLocaleString('en-US')} GPU${rows.length === 1 ? '' : 's'}</div>
      ${axis.filter((k) => k.text || k.month).map((k) => html`<div class=${`tick${k.major ? ' major' : ''}${k.month ? ' month' : ''}`} style=${{ left: px(k.t) }}>
        ${k.month ? html`<b>${k.month}</b>` : k.text}</div>`)}
    </div>
    <div class="rsv-box" ref=${box} tabindex="0" style=${{ height: `${height}px` }}
      aria-label="the timeline: arrows pan (up and down scroll), + and - zoom"
      onScroll=${(e) => setTop(e.currentTarget.scrollTop)}>
      <div class="rsv-space" style=${{ height: `${Math.max(rows.length * ROW, 1)}px` }}>
        <div class="rsv-rules" aria-hidden="true" style=${{ transform: `translateY(${top}px)`, height: `${height}px` }}>
          ${axis.map((k) => html`<div class=${`rule${k.major ? ' major' : ''}${k.month ? ' month' : ''}`} style=${{ left: px(k.t) }}></div>`)}
          ${now >= x0 && now < x1 ? html`<div class="rule now" title=${`now: ${when(new Date(now).toISOString())}`} style=${{ left: px(now) }}></div>` : null}
        </div>
        ${shown}
      </div>
      ${rows.length ? null : html`<p class="busy rsv-empty">No GPU matches these filters.</p>`}
    </div>
  </div>`;
}
