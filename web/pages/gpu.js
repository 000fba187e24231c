// gpu.js — one GPU's MIG layout, drawn to scale on its model's placement units: each instance a
// box with its profile, owner (org and reservation) and MIG UUID, free units hatched, and
// beside it the change planned for the GPU, before and after. Operators pick any node from a
// searchable list (GET /v1/nodes, read page by page: a fleet may have 10,000 nodes) and see
// what its agent last reported, the owners from the node's `holds`; org admins and members see only what the API shows them: the
// GPUs of their org's reservations, their own instances on them, and the changes linked to
// their org. The node and GPU are in the URL: #/gpu?node=mig-h200&gpu=0.
import { html, useEffect, useMemo, useState } from '../lib/html.js';
import { api, apiAll } from '../lib/api.js';
import { href, parse, setParams } from '../lib/route.js';
import { Badge, Busy, FormError, VirtualList, dur, useEvents, usePoll, when } from '../lib/ui.js';
import {
  BeforeAfter, MigBar, changeOwners, indexOf, layoutWords, models, orgNames, ownerOf, sizeOf, useCoalesced,
} from './gpu_layout.js';

const LIVE = ['active', 'provisioning', 'scheduled'];
const OPEN = ['planned', 'approved', 'applying'];
const NODES_MAX = 20000;

// The allocations of the reservations as holds, one per unit sold.
function holdsOf(rsvs) {
  const out = [];
  for (const r of rsvs) {
    for (const a of r.allocations || []) {
      out.push({ ...a, rsv: r.id, org: r.org, org_name: r.org_name, state: r.state, from: r.start, to: r.end, model: r.model });
    }
  }
  return out;
}

// An operator's holds: each GPU's `holds` in GET /v1/nodes/{name} (the reservation holds live
// now or starting within 8 days), in the shape holdsOf gives.
function holdsOfNode(node) {
  const now = Date.now();
  const out = [];
  for (const g of node.gpus) {
    for (const h of g.holds || []) {
      out.push({ node: node.name, gpu: g.id, rsv: h.reservation, org: h.org, kind: h.kind, profile: h.profile,
        start_unit: h.start_unit, from: h.start, to: h.end, state: Date.parse(h.start) <= now ? 'active' : 'scheduled' });
    }
  }
  return out;
}

// An org user's nodes: those their reservations' allocations are on, with those GPUs only.
function nodesFromHolds(holds) {
  const by = new Map();
  for (const h of holds) {
    if (!h.node) continue;
    const n = by.get(h.node) || { name: h.node, gpus: [], own: true };
    if (!n.gpus.some((g) => g.id === h.gpu)) {
      n.gpus.push({ id: h.gpu, index: indexOf(h.node, h.gpu), uuid: h.gpu_uuid, model: h.model, status: '' });
    }
    by.set(h.node, n);
  }
  const list = [...by.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const n of list) n.gpus.sort((a, b) => a.index - b.index);
  return list;
}

const isMig = (g) => !!(g.observed && g.observed.mig && g.observed.mig.current);

function nodeWords(n) {
  const m = {};
  for (const g of n.gpus || []) m[g.model] = (m[g.model] || 0) + 1;
  const models = Object.entries(m).map(([k, c]) => `${c} × ${k}`).join(', ');
  return [n.zone, models].filter(Boolean).join(' · ');
}

// GET /v1/nodes page by page (500 each), shown as they come.
function useNodes(op, holds) {
  const [nodes, setNodes] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    if (!op) return undefined;
    const ctl = new AbortController();
    (async () => {
      let all = [];
      let cursor = null;
      do {
        const page = await api('GET', `/v1/nodes?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          undefined, { signal: ctl.signal });
        all = all.concat(page.items);
        setNodes(all);
        cursor = page.next_cursor;
      } while (cursor && all.length < NODES_MAX);
    })().catch((e) => e.name !== 'AbortError' && (setErr(e), setNodes((n) => n || [])));
    return () => ctl.abort();
  }, [op]);
  const mine = useMemo(() => (op || !holds ? null : nodesFromHolds(holds)), [op, holds]);
  return [op ? nodes : mine, err];
}

function NodeList({ nodes, current, q, onQ, op }) {
  const shown = useMemo(() => {
    const s = q.trim().toLowerCase();
    if (!nodes || !s) return nodes || [];
    return nodes.filter((n) => n.name.toLowerCase().includes(s) || nodeWords(n).toLowerCase().includes(s));
  }, [nodes, q]);
  return html`<aside class="gpu-nodes">
    <label class="field"><span>Node</span>
      <input name="q" type="search" value=${q} placeholder="name, zone or model" autocomplete="off"
        onInput=${(e) => onQ(e.currentTarget.value)} /></label>
    <p class="muted small" data-count>${nodes ? `${shown.length} of ${nodes.length} node${nodes.length === 1 ? '' : 's'}` : 'Reading the nodes…'}</p>
    ${nodes && !nodes.length ? html`<p class="muted">${op ? 'No node has reported yet.' : 'Your org holds no GPU now or later.'}</p>` : html`<${VirtualList} label="nodes" items=${shown} rowHeight=${44} height=${Math.max(220, window.innerHeight - 250)}
      render=${(n) => html`<a class="noderow" data-id=${n.name} href=${href('gpu', { node: n.name, q: q || undefined })}
          aria-current=${n.name === current ? 'true' : undefined}>
          <span class="noderow-name">${n.name}${n.gpus && n.gpus.some(isMig) ? html` <span class="badge badge-mig">MIG</span>` : null}
            ${n.online === false ? html` <${Badge} state="offline" />` : null}</span>
          <small class="muted">${nodeWords(n) || `${n.gpus.length} GPU${n.gpus.length === 1 ? '' : 's'} of your org`}</small>
        </a>`} />`}
  </aside>`;
}

// What to draw for the GPU now: the instances the agent reports (operators), else those the
// reservations hold (a GPU allot does not configure, or an org user's view).
function current(gpu, model, holds, me, names, op) {
  const here = holds.filter((h) => h.gpu === gpu.id && (h.state === 'active' || h.state === 'provisioning'));
  const later = holds.filter((h) => h.gpu === gpu.id && h.state === 'scheduled').sort((a, b) => a.from.localeCompare(b.from));
  const own = (h) => ownerOf(me, names, h.org, h.rsv, h.state === 'scheduled' ? h.from : undefined);
  const on = (list, i) => list.find((x) => x.kind === 'mig' && x.profile === i.profile && x.start_unit === i.start);
  const wholeHold = here.find((h) => h.kind === 'gpu');
  const units = (model && model.units) || 8;
  if (op && gpu.observed && gpu.observed.mig) {
    if (!gpu.observed.mig.current) return { units, whole: { owner: wholeHold ? own(wholeHold) : null } };
    const insts = [...(gpu.observed.instances || []), ...(gpu.observed.unmatched_instances || [])];
    const items = insts.map((i) => {
      // held now, else the next reservation of it (its box says from when)
      const h = on(here, i) || on(later, i);
      return { profile: i.profile || `profile ${i.profile_id}`, start: i.start, size: sizeOf(model, i), uuid: i.uuid, gi: i.gi,
        owner: h ? own(h) : null };
    });
    return { units, items, source: 'observed' };
  }
  if (wholeHold) return { units, whole: { owner: own(wholeHold) }, source: 'reservations' };
  if (!model || !model.mig) return { units, whole: { owner: null }, source: 'reservations' };
  const items = here.filter((h) => h.kind === 'mig').map((h) => ({
    profile: h.profile, start: h.start_unit, size: sizeOf(model, h), uuid: h.mig_uuid, owner: own(h),
  }));
  return { units, items, hidden: !op, source: 'reservations' };
}

// A reservation's id, linked to its details on the Reservations page.
function RsvLink({ id }) {
  return html`<a class="mono" href=${href('reservations', { rsv: id })}>${id}</a>`;
}

// Instances the agent reports that allot's last applied layout (desired) lacks, or the reverse:
// the agent is still making it (after a reboot, or before its first report since the change).
function settling(gpu) {
  if (!gpu.desired || !gpu.observed || !gpu.observed.mig) return '';
  const k = (i) => `${i.profile}@${i.start}`;
  const want = (gpu.desired.instances || []).map(k).sort().join();
  const have = (gpu.observed.instances || []).map(k).sort().join();
  if (gpu.desired.mig !== gpu.observed.mig.current) return `MIG ${gpu.desired.mig ? 'on' : 'off'}`;
  return want === have ? '' : layoutWords(gpu.desired);
}

function Instances({ view, gpu }) {
  if (!view.items || !view.items.length) return null;
  const procs = gpu.observed ? gpu.observed.processes || [] : null;
  const rows = [...view.items].sort((a, b) => a.start - b.start);
  return html`<table class="t gpu-insts">
    <thead><tr><th>Profile</th><th>Units</th><th>MIG UUID</th><th>Owner</th>${procs ? html`<th class="num">Processes</th>` : null}</tr></thead>
    <tbody>${rows.map((i) => html`<tr data-id=${i.uuid || `${i.profile}@${i.start}`}>
      <td>${i.profile}</td><td>${i.size === 1 ? i.start : `${i.start}–${i.start + i.size - 1}`}</td>
      <td class="mono">${i.uuid || '—'}</td>
      <td>${i.owner ? html`${i.owner.orgName || (i.owner.mine ? 'your org' : 'another org')} · <${RsvLink} id=${i.owner.reservation} />${i.owner.from ? html` <span class="muted">from ${when(i.owner.from)}</span>` : ''}` : html`<span class="muted">not held</span>`}</td>
      ${procs ? html`<td class="num">${i.gi === undefined ? '—' : procs.filter((p) => p.gi === i.gi).length}</td>` : null}</tr>`)}</tbody>
  </table>`;
}

function Coming({ holds, gpu, me, names }) {
  const later = holds.filter((h) => h.gpu === gpu.id && h.state === 'scheduled').sort((a, b) => a.from.localeCompare(b.from));
  if (!later.length) return null;
  return html`<h3>Reserved later on this GPU</h3>
    <table class="t"><thead><tr><th>Holds</th><th>From</th><th>To</th><th>Owner</th></tr></thead>
    <tbody>${later.map((h) => html`<tr data-id=${h.rsv}>
      <td>${h.kind === 'gpu' ? 'whole GPU' : `${h.profile} at unit ${h.start_unit}`}</td><td>${when(h.from)}</td><td>${when(h.to)}</td>
      <td>${ownerOf(me, names, h.org).orgName || 'your org'} · <${RsvLink} id=${h.rsv} /></td></tr>`)}</tbody></table>`;
}

function Planned({ gpu, changes, model, me, names }) {
  const mine = (changes || []).filter((c) => c.gpu === gpu.id);
  const open = mine.find((c) => OPEN.includes(c.state));
  const last = mine.find((c) => !OPEN.includes(c.state));
  return html`<section class="card gpu-planned" data-planned=${open ? open.id : ''}>
    <h2>Planned change</h2>
    ${!open
      ? html`${settling(gpu) ? html`<p class="gpu-settling" data-settling>The agent is making the layout allot last applied: <b>${settling(gpu)}</b>.</p>` : null}
        <p class="muted" data-none>No MIG change is planned for this GPU.
          ${gpu.desired ? html` The layout allot last applied: <b>${layoutWords(gpu.desired)}</b>.` : null}</p>`
      : html`<p class="gpu-change-head">
            <a href=${href('migchanges', { id: open.id })} data-id=${open.id} class="mono">${open.id}</a>
            <${Badge} state=${open.state} />
            ${open.window ? html`<span>may run ${when(open.window.run_after)} → ${when(open.window.run_before)}</span>` : null}
            ${open.window && open.window.late ? html`<${Badge} state="late" />` : null}
          </p>
          <${BeforeAfter} change=${open} model=${model} owners=${changeOwners(me, names, open)} />
          <p><a href=${href('migchanges', { id: open.id })} data-action="report">Safety report${me.role === 'member' ? '' : ' and actions'} →</a></p>`}
    ${last
      ? html`<p class="muted small">Last change: <a href=${href('migchanges', { id: last.id })} class="mono">${last.id}</a>${' '}
          <${Badge} state=${last.state} /> ${when(last.updated_at)}</p>`
      : null}
  </section>`;
}

function GpuView({ node, gpu, model, holds, changes, me, names, op }) {
  const view = current(gpu, model, holds, me, names, op);
  const obs = gpu.observed;
  const free = view.items && !view.hidden ? view.units - view.items.reduce((s, i) => s + i.size, 0) : null;
  return html`<div class="gpu-main">
    <section class="card">
      <h2 class="gpu-title">GPU ${gpu.index} <span class="muted">· ${gpu.model || (model && model.name)}</span>
        ${gpu.status ? html` <${Badge} state=${gpu.status} />` : null}
        ${obs && obs.mig ? html` <span class="badge badge-mig">${!obs.mig.capable ? 'no MIG' : obs.mig.current ? 'MIG on' : 'MIG off'}</span>` : null}</h2>
      <dl class="kv gpu-facts">
        <dt>UUID</dt><dd class="mono">${gpu.uuid || '—'}</dd>
        ${gpu.pool ? html`<dt>Sold as</dt><dd>${gpu.pool === 'general' ? 'the general pool (pay-as-you-go containers: the Pool page)' : 'dedicated reservations, whole or MIG'}</dd>` : null}
        <dt>Layout</dt><dd>${view.whole ? 'whole GPU (MIG off)' : `${layoutWords({ mig: true, instances: view.items })}${free !== null ? ` · ${free} of ${view.units} units free` : ''}`}</dd>
        ${op ? html`<dt>Reported</dt><dd>${obs ? `${when(gpu.observed_at)}${obs.processes_total ? ` · ${obs.processes_total} process${obs.processes_total === 1 ? '' : 'es'}` : ' · no process'}` : 'no MIG state: allot does not configure this GPU'}</dd>` : null}
        ${obs && obs.mig && obs.mig.pending !== obs.mig.current ? html`<dt>Pending</dt><dd>MIG ${obs.mig.pending ? 'on' : 'off'} at the next reset</dd>` : null}
      </dl>
      ${obs && obs.catalog_differences && obs.catalog_differences.length
        ? html`<div class="error" data-field="">${obs.catalog_differences.map((d) => html`<div>${d}</div>`)}</div>` : null}
      <${MigBar} label="current" units=${view.units} model=${model} items=${view.items || []} whole=${view.whole} hidden=${!!view.hidden}
        caption=${html`<b>Now</b> <span class="muted">${view.units} placement units${view.source === 'reservations' && op ? ' · drawn from the reservations (no MIG state reported)' : ''}${view.hidden ? ' · only your org\'s instances are shown' : ''}</span>`} />
      <${Instances} view=${view} gpu=${gpu} />
      <${Coming} holds=${holds} gpu=${gpu} me=${me} names=${names} />
    </section>
    <${Planned} gpu=${gpu} changes=${changes} model=${model} me=${me} names=${names} />
  </div>`;
}

function Gpu({ me, params }) {
  const op = me.role === 'operator';
  const [q, setQ] = useState(params.q || '');
  const [rsvs, setRsvs] = useState(null);
  const [mods, setMods] = useState(null);
  const [names, setNames] = useState(null);
  const [node, setNode] = useState(null);
  const [changes, setChanges] = useState(null);
  const [err, setErr] = useState(null);
  const [tick, setTick] = useState(0);
  const name = params.node || '';
  const opNode = op && node && node.name === name ? node : null;
  // who holds what: an operator's from the node's answer, an org user's from its reservations
  const holds = useMemo(() => (op ? opNode && holdsOfNode(opNode) : rsvs && holdsOf(rsvs)), [op, opNode, rsvs]);
  const [nodes, nodesErr] = useNodes(op, holds);

  useEffect(() => {
    models().then(setMods, setErr);
    orgNames().then(setNames, () => setNames({}));
  }, []);
  useEffect(() => {
    if (op) return undefined;
    const ctl = new AbortController();
    Promise.all(LIVE.map((s) => apiAll(`/v1/reservations?state=${s}`, 5000, { signal: ctl.signal })))
      .then((all) => setRsvs(all.flat()))
      .catch((e) => e.name !== 'AbortError' && (setErr(e), setRsvs([])));
    return () => ctl.abort();
  }, [tick]);
  // no node in the URL: the first node with a MIG GPU (else the first one)
  useEffect(() => {
    if (name || !nodes || !nodes.length || parse().page !== 'gpu') return;
    const n = nodes.find((x) => x.gpus.some(isMig)) || nodes[0];
    setParams({ node: n.name, gpu: String((n.gpus[0] && n.gpus[0].index) ?? 0) });
  }, [name, nodes]);
  usePoll((signal) => {
    if (!name) return;
    if (op) {
      api('GET', `/v1/nodes/${encodeURIComponent(name)}`, undefined, { signal })
        .then((n) => (setNode(n), setErr(null)))
        .catch((e) => e.name !== 'AbortError' && (setErr(e), setNode(false)));
    }
    api('GET', `/v1/mig-changes?node=${encodeURIComponent(name)}&limit=100`, undefined, { signal })
      .then((r) => setChanges(r.items))
      .catch((e) => e.name !== 'AbortError' && (setErr(e), setChanges([])));
  }, 5000, [name, op]);
  const holdsAgain = useCoalesced(() => {
    if (!op) setTick((t) => t + 1);
    else if (name) api('GET', `/v1/nodes/${encodeURIComponent(name)}`).then(setNode, () => {});
  }, 1000);
  useEvents(holdsAgain, { kind: 'reservation.' });
  // a change planned, acknowledged, applied …: the changes, the node and its holds again
  useEvents(() => {
    setTick((t) => t + 1);
    if (!name) return;
    api('GET', `/v1/mig-changes?node=${encodeURIComponent(name)}&limit=100`).then((r) => setChanges(r.items), () => {});
    if (op) api('GET', `/v1/nodes/${encodeURIComponent(name)}`).then(setNode, () => {});
  }, { kind: 'mig_change.' }, [name]);

  const theNode = op ? opNode || (node === false ? false : null)
    : nodes && (nodes.find((n) => n.name === name) || false);
  const gpus = theNode ? [...theNode.gpus].sort((a, b) => a.index - b.index) : [];
  const gpu = gpus.find((g) => String(g.index) === String(params.gpu ?? '')) || gpus[0];
  const model = gpu && mods ? mods[gpu.model] : null;
  const ready = !!err || (nodes && !nodes.length && !name) || theNode === false ||
    (theNode && mods && holds && names && changes !== null);
  const onQ = (v) => (setQ(v), setParams({ q: v }));

  return html`<section data-page="gpu" data-ready=${ready ? '1' : '0'} class="gpu-page">
    <h1>GPU${name ? html` <span class="muted">· ${name}${gpu ? ` · GPU ${gpu.index}` : ''}</span>` : null}</h1>
    <${FormError} err=${err || nodesErr} />
    <div class="gpu-layout">
      <${NodeList} nodes=${nodes} current=${name} q=${q} onQ=${onQ} op=${op} />
      <div class="gpu-right">
        ${!name
          ? nodes && !nodes.length
            ? html`<p class="muted" data-none>${op ? 'No node has reported yet.' : 'Your org holds no GPU now or later: its reservations\' GPUs show here.'}</p>`
            : html`<${Busy} what="Reading the nodes" />`
          : theNode === false
            ? html`<p class="error" data-field="node">${op ? `No node ${name}.` : `None of your org's reservations is on node ${name}.`}</p>`
            : !theNode || !gpu
              ? html`<${Busy} what=${`Reading ${name}`} />`
              : html`<div class="gpu-nodehead">
                    ${op ? html`<span><b>${theNode.name}</b> ${theNode.zone ? `· zone ${theNode.zone}` : ''}</span>
                      <${Badge} state=${theNode.online ? 'online' : 'offline'} />
                      <span class="muted">last report ${theNode.last_seen ? `${dur((Date.now() - Date.parse(theNode.last_seen)) / 1000)} ago` : '—'}</span>` : null}
                    <nav class="gputabs" aria-label="GPUs of the node">${gpus.map((g) => html`<a href=${href('gpu', { node: name, gpu: g.index, q: q || undefined })}
                        data-gpu=${g.index} aria-current=${g === gpu ? 'page' : undefined}>GPU ${g.index}
                        <small>${g.model}${isMig(g) ? ' · MIG' : ''}</small></a>`)}</nav>
                  </div>
                  <${GpuView} node=${theNode} gpu=${gpu} model=${model} holds=${holds || []} changes=${changes}
                    me=${me} names=${names} op=${op} />`}
      </div>
    </div>
  </section>`;
}

export default { id: 'gpu', title: 'GPU', roles: ['operator', 'org_admin', 'member'], view: Gpu };
