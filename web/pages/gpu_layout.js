// gpu_layout.js — a GPU's MIG layout drawn to scale, shared by the GPU and MIG changes pages:
// the model's placement units (8, 4 or 12: GET /v1/models) as columns, each instance a box
// spanning the units [start, start + size) with its profile, owner and MIG UUID, free units
// hatched. Boxes are absolutely placed divs sized in percent through Preact's style objects
// (the CSP forbids style attributes in markup, not CSSOM).
import { html, useCallback, useEffect, useRef } from '../lib/html.js';
import { api, apiAll } from '../lib/api.js';
import { when } from '../lib/ui.js';

let modelsAsked = null;
// The catalog's models by name (GET /v1/models), asked once per tab.
export function models() {
  if (!modelsAsked) {
    modelsAsked = api('GET', '/v1/models')
      .then((r) => Object.fromEntries(r.items.map((m) => [m.name, m])))
      .catch((e) => {
        modelsAsked = null;
        throw e;
      });
  }
  return modelsAsked;
}

// The index in a GPU id gpu_<node>-<index>[-<k>] (docs/api.md, "Conventions").
export function indexOf(node, id) {
  const m = /^(\d+)/.exec(String(id).slice(`gpu_${node}-`.length));
  return m ? Number(m[1]) : 0;
}

// A profile of `model` by its name or an alias; null when the catalog has none.
export function profileOf(model, name) {
  if (!model || !model.profiles) return null;
  return model.profiles.find((p) => p.name === name || (p.aliases || []).includes(name)) || null;
}

// The units `inst` spans: its own size when reported, else its catalog profile's.
export function sizeOf(model, inst) {
  if (inst.size) return inst.size;
  const p = profileOf(model, inst.profile);
  return p ? p.size : 1;
}

// A layout {mig, instances} as "4g.71gb, 3 × 1g.18gb" (largest first), "MIG off (whole GPU)"
// or "no instances".
export function layoutWords(layout) {
  if (!layout) return '—';
  if (layout.mig === false) return 'MIG off (whole GPU)';
  const n = {};
  for (const i of layout.instances || []) n[i.profile] = (n[i.profile] || 0) + 1;
  const parts = Object.entries(n)
    .sort((a, b) => parseInt(b[0], 10) - parseInt(a[0], 10))
    .map(([p, k]) => (k > 1 ? `${k} × ${p}` : p));
  return parts.length ? parts.join(', ') : 'no instances';
}

// An owner {org, orgName, reservation, mine, from} in words: "acme · rsv_…", "from …".
export function ownerWords(o) {
  if (!o) return '';
  const who = o.orgName || (o.mine ? 'your org' : o.org ? 'another org' : '');
  const parts = [who, o.reservation].filter(Boolean);
  if (o.from) parts.push(`from ${when(o.from)}`);
  return parts.join(' · ');
}

// An instance's owner in its box: the org on one line, the reservation (and its start, when
// it has not begun) beneath, cut to the box's width (the table below a layout lists them whole).
function Owner({ owner }) {
  if (!owner) return html`<span class="mig-owner muted">not held</span>`;
  return html`<span class="mig-owner">${owner.orgName || (owner.mine ? 'your org' : 'another org')}</span>
    ${owner.reservation ? html`<span class="mig-rsv mono">${owner.reservation}</span>` : null}
    ${owner.from ? html`<span class="mig-rsv">from ${when(owner.from)}</span>` : null}`;
}

// Runs of consecutive units in `units` that `items` leave uncovered: [{start, size}].
function gaps(units, items) {
  const covered = new Array(units).fill(false);
  for (const it of items) for (let u = it.start; u < it.start + it.size && u < units; u++) covered[u] = true;
  const out = [];
  for (let u = 0; u < units; u++) {
    if (covered[u]) continue;
    if (out.length && out[out.length - 1].start + out[out.length - 1].size === u) out[out.length - 1].size++;
    else out.push({ start: u, size: 1 });
  }
  return out;
}

// What one more instance in the free run g could be: the largest profiles that start and end
// inside it ("fits 3g.71gb"), or why none does (a 1-unit profile never starts at unit 7 of 8).
function fitsWords(model, g) {
  const fit = (model.profiles || []).filter((p) => !/\+/.test(p.name) &&
    p.starts.some((s) => s >= g.start && s + p.size <= g.start + g.size));
  if (!fit.length) return 'no profile starts here';
  const most = Math.max(...fit.map((p) => p.size));
  return `fits ${fit.filter((p) => p.size === most).map((p) => p.name).join(', ')}`;
}

const pct = (u, units) => `${(u / units) * 100}%`;
const unitWords = (g) => (g.size === 1 ? `unit ${g.start}` : `units ${g.start}–${g.start + g.size - 1}`);

// One GPU's layout. items: [{profile, start, size, uuid?, owner?, mark?: 'destroy' | 'create' |
// 'keep'}]; whole: {owner} draws the GPU as one box (MIG off); hidden: units no item covers are
// not known to the viewer (another org's, or nobody's) rather than free. `label` names the bar
// for the tests ([data-layout]).
export function MigBar({ units, items = [], whole = null, hidden = false, label, caption, model }) {
  const ticks = [];
  for (let u = 0; u < units; u++) {
    ticks.push(html`<span class="migbar-tick" key=${u} style=${{ left: pct(u, units), width: pct(1, units) }}>${u}</span>`);
  }
  const rest = whole ? [] : gaps(units, items);
  return html`<figure class="migbar" data-layout=${label} data-units=${units}>
    ${caption ? html`<figcaption>${caption}</figcaption>` : null}
    <div class="migbar-ruler" aria-hidden="true">${ticks}</div>
    <div class="migbar-track" role="list" aria-label=${`${label} layout, ${units} placement units`}>
      ${rest.map((g) => html`<div key=${`g${g.start}`} role="listitem"
          class=${hidden ? 'migbar-gap migbar-hidden' : 'migbar-gap migbar-free'} data-free=${hidden ? undefined : g.start}
          style=${{ left: pct(g.start, units), width: pct(g.size, units) }}>
          <span>${hidden ? 'not yours' : 'free'}</span><small>${unitWords(g)}</small>
          ${!hidden && model ? html`<small class="migbar-fits">${fitsWords(model, g)}</small>` : null}</div>`)}
      ${whole
        ? html`<div class=${`mig-inst mig-whole${whole.owner ? '' : ' mig-unheld'}`} role="listitem" data-whole="1"
            style=${{ left: '0%', width: '100%' }} tabindex="0">
            <strong class="mig-prof">whole GPU</strong>
            <${Owner} owner=${whole.owner} />
            ${whole.note ? html`<span class="mig-uuid">${whole.note}</span>` : null}
          </div>`
        : items.map((it) => html`<div key=${`${it.profile}@${it.start}`} role="listitem" tabindex="0"
            class=${`mig-inst${it.mark ? ` mig-${it.mark}` : ''}${it.owner ? (it.owner.mine ? ' mig-mine' : '') : ' mig-unheld'}`}
            data-profile=${it.profile} data-start=${it.start} data-size=${it.size} data-uuid=${it.uuid || undefined}
            title=${`${it.profile} at ${unitWords(it)}${it.uuid ? `\n${it.uuid}` : ''}${it.owner ? `\n${ownerWords(it.owner)}` : ''}`}
            style=${{ left: pct(it.start, units), width: pct(it.size, units) }}>
            <span class="mig-head"><strong class="mig-prof">${it.profile}</strong>
              ${it.mark === 'destroy' ? html`<span class="mig-tag">destroyed</span>` : null}
              ${it.mark === 'create' ? html`<span class="mig-tag">created</span>` : null}</span>
            <${Owner} owner=${it.owner} />
            ${it.uuid ? html`<span class="mig-uuid mono">${it.uuid}</span>` : null}
          </div>`)}
    </div>
  </figure>`;
}

// A change's before and after: `from` with the instances it destroys marked, `to` with those
// it creates; owners(layoutSide, inst) gives each box its owner.
export function BeforeAfter({ change, model, owners }) {
  const units = (model && model.units) || 8;
  const key = (i) => `${i.profile}@${i.start}`;
  const toKeys = new Set((change.to.instances || []).map(key));
  const fromKeys = new Set((change.from.instances || []).map(key));
  const side = (layout, which) =>
    (layout.instances || []).map((i) => ({
      profile: i.profile,
      start: i.start,
      size: sizeOf(model, i),
      uuid: i.uuid,
      owner: owners ? owners(which, i) : null,
      mark: which === 'before' ? (toKeys.has(key(i)) ? 'keep' : 'destroy') : fromKeys.has(key(i)) ? 'keep' : 'create',
    }));
  const whole = (layout, which) => (layout.mig === false ? { owner: owners ? owners(which, null) : null } : null);
  return html`<div class="beforeafter">
    <${MigBar} label="before" units=${units} model=${model} items=${side(change.from, 'before')} whole=${whole(change.from, 'before')}
      caption=${html`<b>Before</b> <span class="muted">${layoutWords(change.from)}</span>`} />
    <div class="beforeafter-arrow" aria-hidden="true">↓</div>
    <${MigBar} label="after" units=${units} model=${model} items=${side(change.to, 'after')} whole=${whole(change.to, 'after')}
      caption=${html`<b>After</b> <span class="muted">${layoutWords(change.to)}</span>`} />
  </div>`;
}

let orgsAsked = null;
// Org ids → names, of the orgs the caller may see (operators: all; org users: their own),
// asked once per tab; another org is never named (ownerWords says "another org").
export function orgNames() {
  if (!orgsAsked) {
    orgsAsked = apiAll('/v1/orgs', 5000)
      .then((items) => Object.fromEntries(items.map((o) => [o.id, o.name])))
      .catch((e) => {
        orgsAsked = null;
        throw e;
      });
  }
  return orgsAsked;
}

// The owner of a hold of `org` (reservation rsv, from: its start when not begun) as ownerWords
// reads it.
export function ownerOf(me, names, org, rsv, from) {
  return { org, orgName: (names && names[org]) || '', reservation: rsv, mine: !!me.org && org === me.org, from };
}

// The owners of a change's boxes: before, the holders of `from`'s instances; after, the
// reservations it serves (from their start), else the holders of the instances it keeps.
export function changeOwners(me, names, change) {
  const at = (list, i) => (list || []).find((h) => h.profile === i.profile && h.start_unit === i.start);
  return (which, i) => {
    if (!i) return null;
    const s = which === 'after' ? at(change.serves, i) : null;
    if (s) return ownerOf(me, names, s.org, s.reservation, s.start);
    const h = at(change.holders, i);
    return h ? ownerOf(me, names, h.org, h.reservation) : null;
  };
}

// A function that runs fn once, `ms` after the first of a burst of calls, so that a busy
// fleet's events re-read a list at most that often.
export function useCoalesced(fn, ms) {
  const st = useRef({ timer: null, fn });
  st.current.fn = fn;
  useEffect(() => () => clearTimeout(st.current.timer), []);
  return useCallback(() => {
    if (st.current.timer) return;
    st.current.timer = setTimeout(() => {
      st.current.timer = null;
      st.current.fn();
    }, ms);
  }, [ms]);
}
