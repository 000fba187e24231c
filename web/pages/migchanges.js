// migchanges.js — the MIG changes the server planned (docs/migchange.md): a list filtered by
// state and node (in the URL), and one change with its layouts before and after, its steps,
// its window, its safety report (the ten checks, each with what it found), the orgs it
// affects and their acknowledgements, and what happened (approved, applied with the new
// instances' UUIDs, failed, superseded). An affected org's admin acknowledges it, an operator
// applies it (forced, with a reason, when checks fail), the node's agent then makes it; the
// page follows it live over the event stream. The API says who may do what; this page shows
// each control only to the role that may use it, and the API's refusal next to it.
import { html, useEffect, useMemo, useState } from '../lib/html.js';
import { api, apiAll, qs } from '../lib/api.js';
import { href, setParams } from '../lib/route.js';
import { Badge, Busy, ErrorText, FormError, VirtualList, useEvents, usePoll, when } from '../lib/ui.js';
import { BeforeAfter, changeOwners, indexOf, layoutWords, models, orgNames, useCoalesced } from './gpu_layout.js';

const STATES = ['planned', 'approved', 'applying', 'applied', 'failed', 'superseded'];
const MAX = 5000;

// The checks of docs/migchange.md in words: what passing means.
const CHECKS = {
  layout_valid: 'The new layout is valid and the steps are its diff',
  mig_mode: 'MIG mode is as the change expects',
  idle_for_mode_switch: 'The GPU is idle for a MIG mode switch',
  no_process_on_destroyed: 'No process runs on an instance it destroys',
  no_container_on_destroyed: 'No container runs on an instance it destroys',
  in_window: 'Now is inside its change window',
  acknowledged: 'Every affected org acknowledged',
  agent_online: "The node's agent is online",
  gpu_healthy: 'The GPU is healthy',
  current_matches_observed: 'The GPU has the layout the change starts from',
};
const NEVER_FORCED = ['layout_valid', 'current_matches_observed'];

let usersAsked = null;
// User ids → names for operators and org admins (GET /v1/users: all, or their org's), once
// per tab; members (and a user the caller may not list) see the id.
function userNames(me) {
  if (me.role === 'member') return Promise.resolve({});
  if (!usersAsked) {
    usersAsked = apiAll('/v1/users', 5000)
      .then((items) => Object.fromEntries(items.map((u) => [u.id, u.name])))
      .catch(() => ((usersAsked = null), {}));
  }
  return usersAsked;
}

function byWords(me, users, by) {
  if (by === me.id) return 'you';
  if (by === 'policy') return 'the auto-apply policy';
  return (users && users[by]) || by;
}

function orgWord(me, names, org) {
  return (names && names[org]) || (me.org && org === me.org ? 'your org' : 'another org');
}

function Row({ c, current, params }) {
  return html`<a class="link rowbtn c2 mono" data-id=${c.id} href=${href('migchanges', { ...params, id: c.id })}
      aria-current=${c.id === current ? 'true' : undefined}>${c.id}</a>
    <span class="c1"><${Badge} state=${c.state} />${c.window && c.window.late ? html` <${Badge} state="late" />` : null}</span>
    <span class="c2">${c.node} · GPU ${indexOf(c.node, c.gpu)} <span class="muted">${c.model}</span></span>
    <span class="c3">${layoutWords(c.from)} → ${layoutWords(c.to)}</span>
    <span class="c2 muted">${c.window ? `${when(c.window.run_after)} → ${when(c.window.run_before).replace(/^\d+-\d+-\d+ /, '')}` : '—'}</span>
    <span class="c1 muted">${when(c.created_at)}</span>`;
}

function Checks({ change }) {
  const ch = change.checks;
  if (!ch) {
    return html`<p class="muted" data-checks="none">The checks are computed while a change is planned or approved; this one is ${change.state}.</p>`;
  }
  const failed = ch.items.filter((i) => !i.pass);
  return html`<p class=${ch.pass ? 'ok' : ''} data-checks=${ch.pass ? 'pass' : 'fail'}>
      ${ch.pass ? `All ${ch.items.length} checks pass.` : `${ch.items.length - failed.length} of ${ch.items.length} checks pass; ${failed.length} fail${failed.length === 1 ? 's' : ''}.`}
      <span class="muted"> Computed at this read (${when(new Date().toISOString())}).</span></p>
    <table class="t mch-checks"><thead><tr><th></th><th>Check</th><th>What it found</th></tr></thead>
      <tbody>${ch.items.map((i) => html`<tr data-check=${i.name} data-pass=${String(i.pass)} class=${i.pass ? '' : 'mch-fail'}>
        <td class="mch-mark" aria-label=${i.pass ? 'passes' : 'fails'}>${i.pass ? '✓' : '✗'}</td>
        <td><b>${CHECKS[i.name] || i.name}</b><br /><code class="muted">${i.name}</code></td>
        <td>${i.found}</td></tr>`)}</tbody></table>`;
}

// The orgs whose work the change touches (holders) or serves, with their acknowledgements.
function Acks({ change, me, names, users }) {
  const orgs = new Map();
  for (const h of change.holders || []) orgs.set(h.org, { holds: true });
  for (const s of change.serves || []) orgs.set(s.org, { ...(orgs.get(s.org) || {}), served: true });
  for (const a of change.acks || []) if (!orgs.has(a.org)) orgs.set(a.org, {});
  if (!orgs.size) return html`<p class="muted">No org holds an instance of this GPU or is served by the change.</p>`;
  return html`<table class="t mch-acks"><thead><tr><th>Org</th><th>Why</th><th>Acknowledged</th></tr></thead>
    <tbody>${[...orgs].map(([org, why]) => {
      const a = (change.acks || []).find((x) => x.org === org);
      return html`<tr data-org=${org} data-acked=${a ? '1' : '0'}>
        <td>${orgWord(me, names, org)}</td>
        <td>${[why.holds ? 'holds instances of the GPU now' : '', why.served ? 'served: its reservation needs the new layout' : ''].filter(Boolean).join('; ')}</td>
        <td>${a ? html`<span class="ok">✓</span> by ${byWords(me, users, a.by)}, ${when(a.at)}${' '}
              <span class="muted">(${[a.job_shutdown ? 'job shutdown' : '', a.data_backup ? 'data backup' : ''].filter(Boolean).join(', ')})</span>`
            : html`<span class="muted">not yet</span>`}</td></tr>`;
    })}</tbody></table>`;
}

function AckForm({ change, onDone }) {
  const [f, setF] = useState({ job_shutdown: false, data_backup: false });
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      onDone(await api('POST', `/v1/mig-changes/${change.id}/ack`, f));
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };
  const box = (name, words) => html`<label class="mch-check">
      <input type="checkbox" name=${name} checked=${f[name]} onChange=${(e) => setF({ ...f, [name]: e.currentTarget.checked })} />
      <span>${words}</span></label>
    <${ErrorText} err=${err} field=${name} />`;
  return html`<form class="card mch-form" data-form="ack" onSubmit=${submit}>
    <h3>Acknowledge for your org</h3>
    ${box('job_shutdown', 'Our jobs on the instances this change destroys may be shut down')}
    ${box('data_backup', 'Their data is backed up')}
    <${FormError} err=${err} fields=${['job_shutdown', 'data_backup']} />
    <button type="submit" data-action="ack" disabled=${busy}>Acknowledge</button>
  </form>`;
}

function ApplyForm({ change, onDone }) {
  const [force, setForce] = useState(false);
  const [reason, setReason] = useState('');
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const ch = change.checks;
  const failing = ch ? ch.items.filter((i) => !i.pass) : [];
  const failingNow = failing.map((i) => i.name).join();
  // a refusal said for checks that have changed since is no longer true
  useEffect(() => setErr(null), [failingNow]);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      onDone(await api('POST', `/v1/mig-changes/${change.id}/apply`, force ? { force: true, reason } : {}));
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="card mch-form" data-form="apply" onSubmit=${submit}>
    <h3>Apply</h3>
    <p>${ch && ch.pass
      ? "Every check passes. Once approved, the node's agent makes the change: destroys first, then creates, rolled back if a step fails."
      : `Checks failing: ${failing.map((i) => i.name).join(', ')}. The server refuses to apply unless forced with a reason (${NEVER_FORCED.join(' and ')} can never be forced).`}</p>
    ${ch && !ch.pass
      ? html`<label class="mch-check"><input type="checkbox" name="force" checked=${force} onChange=${(e) => setForce(e.currentTarget.checked)} />
          <span>Force: override the failing checks (recorded with the reason)</span></label>`
      : null}
    ${force
      ? html`<label class="field"><span>Reason</span>
          <input name="reason" value=${reason} maxlength="500" onInput=${(e) => setReason(e.currentTarget.value)}
            aria-invalid=${err && err.field === 'reason' ? 'true' : 'false'} />
          <${ErrorText} err=${err} field="reason" /></label>`
      : null}
    <${FormError} err=${err} fields=${force ? ['reason'] : []} />
    <button type="submit" data-action="apply" class=${force ? 'danger' : ''} disabled=${busy}>${force ? 'Force apply' : 'Apply'}</button>
  </form>`;
}

function Outcome({ change, me, users }) {
  const a = change.approved;
  return html`${a
      ? html`<p data-approved>Approved by ${byWords(me, users, a.by)}, ${when(a.at)}${a.forced ? html` — <b>forced</b>: ${a.reason}` : ''}.
          ${change.started_at ? ` The agent started it ${when(change.started_at)}.` : ''}</p>`
      : null}
    ${change.result
      ? html`<div data-result><p class="ok">Applied ${when(change.result.at)}: the GPU now has</p>
          <table class="t"><thead><tr><th>Profile</th><th>Start unit</th><th>MIG UUID</th></tr></thead>
          <tbody>${change.result.instances.map((i) => html`<tr><td>${i.profile}</td><td>${i.start}</td><td class="mono">${i.uuid}</td></tr>`)}</tbody></table></div>`
      : null}
    ${change.failure
      ? html`<p class="error" data-field="" data-failure>Failed ${when(change.failure.at)} at operation ${change.failure.operation}: ${change.failure.error}
          ${change.failure.rolled_back ? ' (rolled back to the layout before)' : ''}</p>`
      : null}
    ${change.superseded
      ? html`<p data-superseded>Superseded ${when(change.superseded.at)} by
          <a class="mono" href=${href('migchanges', { id: change.superseded.by })}>${change.superseded.by}</a>: ${change.superseded.reason}</p>`
      : null}`;
}

function Detail({ id, me, names, mods, onChanged, onLoad }) {
  const [change, setChange] = useState(null);
  const [err, setErr] = useState(null);
  const [users, setUsers] = useState(null);
  useEffect(() => {
    userNames(me).then(setUsers);
  }, []);
  const load = (signal) =>
    api('GET', `/v1/mig-changes/${encodeURIComponent(id)}`, undefined, { signal })
      .then((c) => (setChange(c), setErr(null)))
      .catch((e) => e.name !== 'AbortError' && (setErr(e), setChange(false)))
      .finally(() => onLoad(id));
  // the checks are computed at each read: read again while they can change
  usePoll((signal) => (change === null || (change && ['planned', 'approved', 'applying'].includes(change.state))) && load(signal),
    5000, [id, change && change.state]);
  useEvents(() => load(), { object: id }, [id]);
  const done = (c) => {
    setChange((prev) => ({ ...c, checks: c.checks ?? prev?.checks ?? null }));
    load();
    onChanged();
  };
  if (change === null) return html`<${Busy} what=${`Reading ${id}`} />`;
  if (change === false) return html`<div class="card" data-detail=${id}><${FormError} err=${err} /></div>`;
  const c = change;
  const model = mods && mods[c.model];
  const acked = (c.acks || []).some((a) => a.org === me.org);
  const open = c.state === 'planned' || c.state === 'approved';
  return html`<section class="card mch-detail" data-detail=${c.id} data-state=${c.state}>
    <h2>Change <span class="mono">${c.id}</span> <${Badge} state=${c.state} />${c.window && c.window.late ? html` <${Badge} state="late" />` : null}</h2>
    <dl class="kv">
      <dt>GPU</dt><dd><a href=${href('gpu', { node: c.node, gpu: indexOf(c.node, c.gpu) })}>${c.node} · GPU ${indexOf(c.node, c.gpu)}</a>
        · ${c.model} <span class="mono muted">${c.gpu_uuid}</span></dd>
      <dt>Window</dt><dd>${c.window ? html`may run from ${when(c.window.run_after)} until ${when(c.window.run_before)}
        ${c.window.late ? html` <span class="muted">(late: no change window closes before the reservation it serves starts)</span>` : null}` : '—'}</dd>
      <dt>Serves</dt><dd>${(c.serves || []).length
        ? c.serves.map((s) => html`<div>${orgWord(me, names, s.org)} · <a class="mono" href=${href('reservations', { rsv: s.reservation })}>${s.reservation}</a> · ${s.profile} at unit ${s.start_unit} from ${when(s.start)}</div>`)
        : 'no reservation'}</dd>
      <dt>Planned</dt><dd>${when(c.created_at)}${c.updated_at !== c.created_at ? ` · updated ${when(c.updated_at)}` : ''}</dd>
    </dl>
    <${Outcome} change=${c} me=${me} users=${users} />
    <div class="mch-grid">
      <div><h3>Layout</h3><${BeforeAfter} change=${c} model=${model} owners=${changeOwners(me, names, c)} /></div>
      <div><h3>Steps</h3>
        <ol class="mch-steps">${(c.steps || []).map((s) => html`<li class=${`mch-${s.op}`}>${s.op} ${s.profile} at unit ${s.start}</li>`)}</ol>
        <p class="muted small">${(c.operations || []).length} NVML operations${c.mode_switch ? ', with a MIG mode switch' : ''}; instances in both layouts are not touched.</p></div>
    </div>
    <h3>Safety report</h3>
    <${Checks} change=${c} />
    <h3>Affected orgs</h3>
    <${Acks} change=${c} me=${me} names=${names} users=${users} />
    <div class="mch-actions">
      ${me.role === 'org_admin' && open && !acked ? html`<${AckForm} change=${c} onDone=${done} />` : null}
      ${me.role === 'operator' && c.state === 'planned' ? html`<${ApplyForm} change=${c} onDone=${done} />` : null}
    </div>
  </section>`;
}

function MigChanges({ me, params }) {
  const [items, setItems] = useState(null);
  const [err, setErr] = useState(null);
  const [names, setNames] = useState(null);
  const [mods, setMods] = useState(null);
  const [tick, setTick] = useState(0);
  const [loaded, setLoaded] = useState('');
  const [node, setNode] = useState(params.node || '');
  const filter = { state: params.state || '', node: params.node || '' };
  useEffect(() => {
    orgNames().then(setNames, () => setNames({}));
    models().then(setMods, () => setMods({}));
  }, []);
  useEffect(() => {
    const ctl = new AbortController();
    apiAll(`/v1/mig-changes${qs(filter)}`, MAX, { signal: ctl.signal })
      .then((all) => (setItems(all), setErr(null)))
      .catch((e) => e.name !== 'AbortError' && (setErr(e), setItems([])));
    return () => ctl.abort();
  }, [filter.state, filter.node, tick]);
  const listAgain = useCoalesced(() => setTick((t) => t + 1), 500);
  useEvents(listAgain, { kind: 'mig_change.' });
  const listParams = useMemo(() => ({ state: filter.state || undefined, node: filter.node || undefined }), [filter.state, filter.node]);
  const apply = (e) => {
    e.preventDefault();
    setParams({ node: node.trim() });
  };
  return html`<section data-page="migchanges" data-ready=${items && names && mods && (!params.id || loaded === params.id) ? '1' : '0'}>
    <h1>MIG changes</h1>
    <form class="toolbar" onSubmit=${apply}>
      <label class="field"><span>State</span>
        <select name="state" value=${filter.state} onChange=${(e) => setParams({ state: e.currentTarget.value })}>
          <option value="">any</option>${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label>
      <label class="field"><span>Node</span>
        <input name="node" value=${node} placeholder="mig-h200" onInput=${(e) => setNode(e.currentTarget.value)} /></label>
      <button type="submit" data-action="filter">Filter</button>
      <span class="muted" data-count>${items ? `${items.length} change${items.length === 1 ? '' : 's'}, live` : ''}</span>
    </form>
    <${ErrorText} err=${err} field="state" /><${ErrorText} err=${err} field="node" />
    <${FormError} err=${err} fields=${['state', 'node']} />
    ${!items
      ? html`<${Busy} what="Reading the changes" />`
      : !items.length
        ? html`<p class="muted" data-none>No MIG change${filter.state ? ` ${filter.state}` : ''}${filter.node ? ` on ${filter.node}` : ''}.
            ${me.role === 'operator' ? 'The server plans one when a reservation needs a layout a GPU does not have.' : 'Changes that touch or serve your org\'s reservations show here.'}</p>`
        : html`<${VirtualList} label="MIG changes" items=${items} rowHeight=${34}
            height=${Math.min(items.length * 34 + 2, params.id ? 240 : Math.max(240, window.innerHeight - 260))}
            header=${html`<span class="c2">Change</span><span class="c1">State</span><span class="c2">GPU</span><span class="c3">Layout</span><span class="c2">Window</span><span class="c1">Planned</span>`}
            render=${(c) => html`<${Row} c=${c} current=${params.id} params=${listParams} />`} />`}
    ${params.id ? html`<${Detail} key=${params.id} id=${params.id} me=${me} names=${names} mods=${mods} onChanged=${() => setTick((t) => t + 1)} onLoad=${setLoaded} />` : null}
  </section>`;
}

export default { id: 'migchanges', title: 'MIG changes', roles: ['operator', 'org_admin', 'member'], view: MigChanges };
