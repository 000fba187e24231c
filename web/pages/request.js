// request.js — the New request page: the customer's ask as POST /v1/requests takes it (who,
// what GPU or MIG instance and how many, the period or a usage window, what will run), with
// live feedback beside it while it is typed (request_fit.js: what is free in that window, the
// earliest windows that fit and their price under the org's contract), a Submit that files the
// request for the operator's quote, and — for orgs whose contract allows self-service — a
// Reserve on each window that books it at once (POST /v1/reservations {offering}).
import { html, useEffect, useMemo, useRef, useState } from '../lib/html.js';
import { api, apiAll } from '../lib/api.js';
import { href, setParams } from '../lib/route.js';
import { ErrorText, Field, FormError } from '../lib/ui.js';
import { Fit, askOf, bodyOf } from './request_fit.js';
import { toInput } from './pool.js';

// Every field of the form, as POST /v1/requests names it (the ErrorText of each shows the
// API's error naming it).
const FIELDS = ['org', 'kind', 'count', 'model', 'min_memory_gb', 'profile', 'instance_memory_gb',
  'min_tflops_bf16', 'min_memory_bandwidth_gbs', 'labels', 'start', 'end', 'duration_hours',
  'earliest_start', 'latest_start', 'same_node', 'zone', 'usage_window', 'image', 'framework',
  'workload', 'notes'];
// The fields kept in the URL (a bookmark or a link from the Pool page fills them in).
const IN_URL = ['org', 'kind', 'count', 'model', 'min_memory_gb', 'profile', 'instance_memory_gb',
  'min_tflops_bf16', 'min_memory_bandwidth_gbs', 'period', 'start', 'end', 'duration_hours',
  'earliest_start', 'latest_start', 'zone'];

function nextHour() {
  const d = new Date(Date.now() + 3600 * 1000);
  d.setUTCMinutes(0, 0, 0);
  return d.toISOString();
}

function initial(params) {
  const from = nextHour();
  const f = {
    org: '', kind: 'gpu', count: '1', model: '', min_memory_gb: '', profile: '', instance_memory_gb: '',
    min_tflops_bf16: '', min_memory_bandwidth_gbs: '', period: 'flexible',
    start: toInput(from), end: toInput(new Date(Date.parse(from) + 24 * 3600e3).toISOString()),
    duration_hours: '24', earliest_start: toInput(from),
    latest_start: toInput(new Date(Date.parse(from) + 7 * 24 * 3600e3).toISOString()),
    same_node: false, zone: '', labels: '', usage_window: '', image: '', framework: '', workload: '', notes: '',
  };
  for (const k of IN_URL) if (params[k] !== undefined) f[k] = params[k];
  return f;
}

function Choice({ name, value, options, form, set, legend }) {
  return html`<fieldset class="choice"><legend>${legend}</legend>
    ${options.map(([v, words]) => html`<label class=${form[name] === v ? 'on' : ''}>
      <input type="radio" name=${name} value=${v} checked=${form[name] === v}
        onChange=${() => set({ ...form, [name]: v })} /> ${words}</label>`)}
  </fieldset>`;
}

// [value, words, group?] options as [[group, options]…], in their first appearance's order.
function groups(options) {
  const out = [];
  for (const o of options) {
    const g = o[2] || '';
    const last = out[out.length - 1];
    if (last && last[0] === g) last[1].push(o);
    else out.push([g, [o]]);
  }
  return out;
}

function Select({ label, name, form, set, err, options, hint }) {
  return html`<label class="field"><span>${label}</span>
    <select name=${name} value=${form[name]} onChange=${(e) => set({ ...form, [name]: e.currentTarget.value })}>
      ${groups(options).map(([g, opts]) => (g
        ? html`<optgroup label=${g}>${opts.map(([v, words]) => html`<option value=${v}>${words}</option>`)}</optgroup>`
        : opts.map(([v, words]) => html`<option value=${v}>${words}</option>`)))}
    </select>
    ${hint ? html`<small class="muted">${hint}</small>` : null}
    <${ErrorText} err=${err} field=${name} /></label>`;
}

// The models to choose from: those the fleet has first, with how many GPUs, then the rest of
// the catalog (a request for one is refused until a node registers it).
function modelChoices(models, fleet, kind) {
  const ms = (models || []).filter((m) => kind !== 'mig' || m.mig);
  if (!fleet) return ms.map((m) => [m.name, `${m.name} · ${m.memory_gb} GB`]);
  const has = (m) => (fleet.get(m.name) || 0) > 0;
  return [
    ...ms.filter(has).map((m) => [m.name, `${m.name} · ${m.memory_gb} GB (${fleet.get(m.name)})`, 'In the fleet (GPUs)']),
    ...ms.filter((m) => !has(m)).map((m) => [m.name, `${m.name} · ${m.memory_gb} GB`, 'Not in the fleet now']),
  ];
}

function Request({ me, params }) {
  const [form, setForm] = useState(() => initial(params));
  const [models, setModels] = useState(null);
  const [orgs, setOrgs] = useState(null);
  const [fleet, setFleet] = useState(null); // model → its GPUs in the fleet
  const [err, setErr] = useState(null);
  const [loadErr, setLoadErr] = useState(null);
  const [filed, setFiled] = useState(null);
  const [busy, setBusy] = useState(false);
  const op = me.role === 'operator';
  useEffect(() => {
    const ctl = new AbortController();
    Promise.all([
      api('GET', '/v1/models', undefined, { signal: ctl.signal }),
      op ? apiAll('/v1/orgs', 5000, { signal: ctl.signal }) : Promise.resolve([]),
    ]).then(([m, o]) => {
      setModels(m.items);
      setOrgs(o);
      // which models the fleet has (a model it has none of cannot be asked for): after the
      // page is ready, one availability answer per model
      return Promise.all(m.items.map((x) => api('GET', `/v1/availability?model=${encodeURIComponent(x.name)}`, undefined, { signal: ctl.signal })
        .then((a) => [x.name, a.total_gpus], () => [x.name, null])))
        .then((pairs) => setFleet(new Map(pairs)));
    }).catch((e) => e.name !== 'AbortError' && (setLoadErr(e), setModels((x) => x || [])));
    return () => ctl.abort();
  }, []);
  // The form's ask in the URL, a moment after the typing stops.
  const urlTimer = useRef(null);
  useEffect(() => {
    clearTimeout(urlTimer.current);
    urlTimer.current = setTimeout(() => {
      const patch = {};
      for (const k of IN_URL) patch[k] = form[k] === initial({})[k] ? '' : form[k];
      setParams(patch);
    }, 600);
    return () => clearTimeout(urlTimer.current);
  }, [form]);
  const model = useMemo(() => (models || []).find((m) => m.name === form.model), [models, form.model]);
  const set = (f) => {
    setFiled(null);
    // the API's error about a field goes once that field is changed
    if (err && err.field && f[err.field] !== form[err.field]) setErr(null);
    setForm(f);
  };
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const r = await api('POST', '/v1/requests', bodyOf(form, me));
      setFiled(r);
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };
  const modelOpts = [['', form.kind === 'mig' ? 'Any MIG model with the memory asked' : 'Any model with the memory asked'],
    ...modelChoices(models, fleet, form.kind)];
  const profileOpts = [['', 'The smallest that holds the memory asked'],
    ...((model && model.profiles) || []).map((p) => [p.name, `${p.name} · ${p.memory_gb} GB, ${p.compute_slices}/${model.compute_slices} compute`])];
  const ask = askOf(form, me);
  const fp = { form, set, err };
  return html`<section data-page="request" data-ready=${models ? '1' : '0'}>
    <div class="pagehead"><h1>New request</h1>
      <span class="muted">${op ? 'For a customer org: filed as its request, for you to quote.' : 'Filed for your operator to quote; or reserve a window that fits at once.'}</span></div>
    <${FormError} err=${loadErr} />
    <div class="reqgrid">
      <form class="reqform" onSubmit=${submit} noValidate aria-label="request">
        <section class="card">
          <h2>What</h2>
          ${op ? html`<${Select} label="Org (customer)" name="org" ...${fp}
              options=${[['', 'Choose the customer…'], ...(orgs || []).map((o) => [o.name, `${o.display_name || o.name}${o.customer_code ? ` (${o.customer_code})` : ''}`])]} />` : null}
          <${Choice} legend="Kind" name="kind" form=${form} set=${(f) => set({ ...f, profile: '', instance_memory_gb: '' })}
            options=${[['gpu', 'Whole GPUs (dedicated)'], ['mig', 'MIG instances']]} />
          <${ErrorText} err=${err} field="kind" />
          <div class="row3">
            <${Field} label=${form.kind === 'mig' ? 'Instances' : 'GPUs'} name="count" type="text" inputmode="numeric" ...${fp} />
            <${Select} label="GPU model" name="model" ...${fp} options=${modelOpts} />
            ${form.kind === 'mig'
              ? html`<${Select} label="MIG profile" name="profile" ...${fp} options=${profileOpts}
                  hint=${model ? '' : 'choose a model for its profiles'} />`
              : html`<${Field} label="Or memory per GPU (GB)" name="min_memory_gb" inputmode="numeric" ...${fp} placeholder="e.g. 80" />`}
          </div>
          ${form.kind === 'mig'
            ? html`<div class="row3">
                <${Field} label="Or memory per instance (GB)" name="instance_memory_gb" inputmode="numeric" ...${fp} placeholder="e.g. 20" />
              </div>`
            : null}
          <details class="perf" open=${!!(form.min_tflops_bf16 || form.min_memory_bandwidth_gbs || form.zone || form.labels)}>
            <summary>Performance and placement</summary>
            <div class="row3">
              <${Field} label="Min BF16 TFLOPS (per unit)" name="min_tflops_bf16" inputmode="numeric" ...${fp} placeholder="e.g. 300" />
              <${Field} label="Min memory bandwidth (GB/s)" name="min_memory_bandwidth_gbs" inputmode="numeric" ...${fp} placeholder="e.g. 2000" />
              <${Field} label="Zone" name="zone" ...${fp} placeholder="e.g. eu-1" />
            </div>
            <div class="row2">
              <${Field} label="Node labels" name="labels" ...${fp} placeholder="nvlink=yes,rack=r1" />
              <label class="field inlinebox"><span>Placement</span>
                <label class="inline"><input type="checkbox" name="same_node" checked=${form.same_node}
                  onChange=${(e) => set({ ...form, same_node: e.currentTarget.checked })} /> all on one node</label>
                <${ErrorText} err=${err} field="same_node" /></label>
            </div>
          </details>
        </section>
        <section class="card">
          <h2>When</h2>
          <${Choice} legend="Period" name="period" form=${form} set=${set}
            options=${[['flexible', 'A duration, starting in a range'], ['fixed', 'A fixed window']]} />
          ${form.period === 'fixed'
            ? html`<div class="row2">
                <${Field} label="Start (UTC)" name="start" type="datetime-local" ...${fp} />
                <${Field} label="End (UTC)" name="end" type="datetime-local" ...${fp} />
              </div>`
            : html`<div class="row3">
                <${Field} label="Hours" name="duration_hours" inputmode="numeric" ...${fp} />
                <${Field} label="Earliest start (UTC)" name="earliest_start" type="datetime-local" ...${fp} />
                <${Field} label="Latest start (UTC)" name="latest_start" type="datetime-local" ...${fp} hint="at most 90 days after the earliest" />
              </div>`}
          <${Field} label="Usage window" name="usage_window" ...${fp} placeholder="e.g. weekdays 08:00-20:00 CET" />
        </section>
        <section class="card">
          <h2>What runs</h2>
          <div class="row3">
            <${Field} label="Container image" name="image" ...${fp} placeholder="registry.example.com/team/trainer:1.4" />
            <${Field} label="Framework" name="framework" ...${fp} placeholder="e.g. PyTorch 2.5" />
            <${Field} label="Workload" name="workload" ...${fp} placeholder="e.g. fine-tuning, inference" />
          </div>
          <label class="field"><span>Notes</span>
            <textarea name="notes" rows="2" value=${form.notes} onInput=${(e) => set({ ...form, notes: e.currentTarget.value })}></textarea>
            <${ErrorText} err=${err} field="notes" /></label>
        </section>
        <${FormError} err=${err} fields=${FIELDS} />
        ${filed
          ? html`<p class="filed ok" data-filed=${filed.id}>Filed: <a href=${href('requests', { id: filed.id })}>${filed.id}</a>${' '}
              (${filed.state}); ${op ? 'quote it on Requests.' : 'your operator quotes it next; follow it on Requests.'}</p>`
          : null}
        <div class="actions">
          <button type="submit" data-action="submit" disabled=${busy}>${busy ? 'Filing…' : 'Submit request'}</button>
          <span class="muted small">The operator quotes it (a price and the GPUs it holds); nothing is charged until it is confirmed.</span>
        </div>
      </form>
      <${Fit} me=${me} ask=${ask} models=${models} />
    </div>
  </section>`;
}

export default { id: 'request', title: 'New request', roles: ['operator', 'org_admin'], view: Request };
