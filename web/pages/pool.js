// pool.js — the Pool page: what the fleet has free, now and for a chosen window, by model and
// MIG profile, priced; the pay-as-you-go pool's GPUs with how long each stays free; and, for an
// org's members and admins, a container launched on one of them (pool_launch.js), watched
// running, its logs read, stopped. Counts come first (one availability answer per model the
// fleet has), a model's GPU rows only when it is opened, in a list that renders what is in
// view. Live: the event stream refreshes the page when something changes, a poll catches what
// another org did (whose events this caller does not see).
import { html, useCallback, useEffect, useMemo, useRef, useState } from '../lib/html.js';
import { api, qs } from '../lib/api.js';
import { href, setParams } from '../lib/route.js';
import { Busy, FormError, VirtualList, dur, money, useEvents, usePoll, when } from '../lib/ui.js';
import { ContainersPanel, LaunchPanel, mayLaunch } from './pool_launch.js';

const HOUR = 3600 * 1000;
const num = (n) => Number(n).toLocaleString('en-US');

// A window's instant as a datetime-local input shows it: UTC, to the minute (the page says UTC).
export function toInput(iso) {
  return iso ? iso.slice(0, 16) : '';
}

// An input's "YYYY-MM-DDTHH:MM" (UTC) as the API's RFC 3339 time; '' stays ''.
export function fromInput(v) {
  return v ? `${v.slice(0, 16)}:00Z` : '';
}

export function isoMinute(ms) {
  return `${new Date(ms).toISOString().slice(0, 16)}:00Z`;
}

// The catalog and the price list change rarely: asked once per page view.
async function loadStatic(signal) {
  const [models, prices] = await Promise.all([
    api('GET', '/v1/models', undefined, { signal }),
    api('GET', '/v1/prices', undefined, { signal }),
  ]);
  const price = Object.fromEntries(prices.items.map((p) => [p.model, p]));
  return { models: models.items, price };
}

// GET /v1/availability for every catalog model (the API counts one model per call), keeping
// those the fleet has; `known` narrows a refresh to the models seen before.
async function loadAvail(models, win, known, signal) {
  const names = known ? models.filter((m) => known.has(m.name)) : models;
  const answers = await Promise.all(
    names.map((m) => api('GET', `/v1/availability${qs({ model: m.name, start: win.start, end: win.end })}`, undefined, { signal })),
  );
  return answers.filter((a) => a.total_gpus > 0);
}

function tflops(x10) {
  return x10 ? `${(x10 / 10).toLocaleString('en-US')} TFLOPS` : '';
}

function Price({ micros, per }) {
  if (micros === undefined || micros === null) return html`<span class="muted">no price</span>`;
  return html`<span class="price">${money(micros)}</span><span class="muted"> /${per}</span>`;
}

// One model's line in the summary: its free whole GPUs in the window, the pool's free GPUs
// now, its prices, and the MIG instances free in the window (the three most plentiful).
function ModelRow({ a, model, price, pool, open }) {
  const profs = (a.profiles || []).filter((p) => p.instances_free > 0).sort((x, y) => y.instances_free - x.instances_free);
  const pct = a.total_gpus ? Math.round((100 * a.whole_gpus_free) / a.total_gpus) : 0;
  return html`<tr data-id=${a.model} class=${open.self ? 'open' : ''}>
    <th scope="row">
      <a href=${href('pool', { ...open.params, model: open.self ? '' : a.model })} data-action="open" aria-expanded=${open.self ? 'true' : 'false'}>${a.model}</a>
      <div class="muted small">${model ? `${model.memory_gb} GB · ${tflops(model.tflops_bf16_x10)}` : ''}</div>
    </th>
    <td class="num">
      <span data-col="whole_gpus_free" data-n=${a.whole_gpus_free}>${num(a.whole_gpus_free)}</span> <span class="muted">of <span data-col="total_gpus" data-n=${a.total_gpus}>${num(a.total_gpus)}</span></span>
      <div class="meter" aria-hidden="true"><div style=${{ width: `${pct}%` }}></div></div>
    </td>
    <td class="num"><${Price} micros=${price && price.gpu_hour_micros} per="GPU-hour" /></td>
    <td class="num"><span data-col="pool_free" data-n=${pool ? pool.gpus_free : 0}>${num(pool ? pool.gpus_free : 0)}</span></td>
    <td class="num">${pool ? html`<${Price} micros=${price && price.pool_gpu_hour_micros} per="GPU-hour" />` : html`<span class="muted">—</span>`}</td>
    <td class="profiles">
      ${!model || !model.mig
        ? html`<span class="muted">no MIG</span>`
        : profs.length
          ? profs.slice(0, 3).map((p) => html`<span class="chip" data-profile=${p.profile}>${p.profile} <b>×${num(p.instances_free)}</b></span>`)
          : html`<span class="muted">none free</span>`}
      ${profs.length > 3 ? html`<span class="muted"> +${profs.length - 3} more</span>` : null}
    </td>
  </tr>`;
}

// The opened model: its MIG profiles (free in the window, priced per instance-hour) and the
// pool's GPUs of that model, one row each, with a Launch button for who may launch.
function ModelDetail({ a, model, price, pool, me, chosen, onPick }) {
  const profs = new Map((a.profiles || []).map((p) => [p.profile, p.instances_free]));
  const inPool = new Map(((pool && pool.profiles) || []).map((p) => [p.profile, p.instances_free]));
  const gpus = (pool && pool.gpus) || [];
  const can = mayLaunch(me);
  return html`<section class="card" data-detail=${a.model}>
    <h2>${a.model} <span class="muted">${model ? model.description || '' : ''}</span></h2>
    <div class="grid2">
      <div>
        <h3>Pay-as-you-go GPUs free now <span class="muted">(${gpus.length})</span></h3>
        ${gpus.length
          ? html`<${VirtualList} label=${`${a.model} pool GPUs`} items=${gpus} rowHeight=${34} height=${Math.min(340, 34 * gpus.length + 2)}
              header=${html`<span class="c2">GPU</span><span class="c1">Node</span><span class="c2">Free until</span><span class="c1"></span>`}
              render=${(g) => html`<span class="c2 mono" data-id=${g.id}>${g.id}</span><span class="c1">${g.node}</span>
                <span class="c2">${g.free_until
                  ? html`${when(g.free_until)} <span class="muted">(${dur((Date.parse(g.free_until) - Date.now()) / 1000)})</span>`
                  : html`<span class="ok">no hold ahead</span>`}</span>
                <span class="c1">${can
                  ? html`<button class=${chosen === g.id ? '' : 'secondary'} data-action="pick" data-id=${g.id}
                      aria-pressed=${chosen === g.id ? 'true' : 'false'} onClick=${() => onPick(g.id)}>${chosen === g.id ? 'Chosen' : 'Choose'}</button>`
                  : null}</span>`} />`
          : html`<p class="muted">None: every ${a.model} of the general pool is running a container or held soon${pool ? '' : ' (this model has no general-pool GPU)'}.</p>`}
        ${pool
          ? html`<p class="muted small">Billed per second at ${price ? money(price.pool_gpu_hour_micros) : '—'} per GPU-hour (your contract's pool rate may differ).
              A pool container is warned before a reservation's hold on its GPU begins and stopped at it ("free until").</p>`
          : null}
      </div>
      <div>
        <h3>MIG instances free in the window</h3>
        ${model && model.mig
          ? html`<table class="t">
              <thead><tr><th>Profile</th><th class="num">Memory</th><th class="num">Free</th><th class="num">In the pool now</th><th class="num">Price</th></tr></thead>
              <tbody>${model.profiles.map((p) => html`<tr data-id=${p.name}>
                <td class="mono">${p.name}</td><td class="num">${p.memory_gb} GB</td>
                <td class="num" data-col="instances_free" data-n=${profs.get(p.name) ?? 0}>${num(profs.get(p.name) ?? 0)}</td>
                <td class="num">${num(inPool.get(p.name) ?? 0)}</td>
                <td class="num">${price && price.mig_slice_hour_micros ? html`<${Price} micros=${price.mig_slice_hour_micros * p.compute_slices} per="instance-hour" />` : html`<span class="muted">—</span>`}</td>
              </tr>`)}</tbody>
            </table>`
          : html`<p class="muted">${a.model} has no MIG: it is sold as whole GPUs.</p>`}
        <p class="muted small">Reserve these for a window on <a href=${href('request', { kind: model && model.mig ? 'mig' : 'gpu', model: a.model })}>New request</a>.</p>
      </div>
    </div>
  </section>`;
}

function WindowForm({ win, custom }) {
  const [from, setFrom] = useState(toInput(win.start));
  const [until, setUntil] = useState(toInput(win.end));
  const apply = (e) => {
    e.preventDefault();
    setParams({ from: fromInput(from), until: fromInput(until) });
  };
  const preset = (hours) => {
    const now = Date.now();
    setParams({ from: isoMinute(now), until: isoMinute(now + hours * HOUR) });
  };
  return html`<form class="toolbar window" onSubmit=${apply} aria-label="window">
    <label class="field"><span>From (UTC)</span>
      <input type="datetime-local" name="from" value=${from} onInput=${(e) => setFrom(e.currentTarget.value)} /></label>
    <label class="field"><span>Until (UTC)</span>
      <input type="datetime-local" name="until" value=${until} onInput=${(e) => setUntil(e.currentTarget.value)} /></label>
    <button type="submit" data-action="window">Show</button>
    <span class="presets">
      <button type="button" class="secondary" data-action="preset-1h" onClick=${() => preset(1)}>Next hour</button>
      <button type="button" class="secondary" data-action="preset-24h" onClick=${() => preset(24)}>Next 24 h</button>
      <button type="button" class="secondary" data-action="preset-7d" onClick=${() => preset(24 * 7)}>Next 7 days</button>
      ${custom ? html`<button type="button" class="link" data-action="now" onClick=${() => setParams({ from: '', until: '' })}>Back to now</button>` : null}
    </span>
  </form>`;
}

function Pool({ me, params }) {
  const [stat, setStat] = useState(null);
  const [avail, setAvail] = useState(null);
  const [pool, setPool] = useState(null);
  const [err, setErr] = useState(null);
  const [at, setAt] = useState(null);
  const [tick, setTick] = useState(0);
  const known = useRef(null);
  const scans = useRef(0);
  const custom = !!(params.from || params.until);
  // The window: the URL's, else the hour from now, taken anew at each refresh; `win` is the
  // one the counts shown were made for.
  const winNow = () => {
    const start = params.from || isoMinute(Date.now());
    return { start, end: params.until || isoMinute(Date.parse(start) + HOUR) };
  };
  const [win, setWin] = useState(winNow);

  useEffect(() => {
    const ctl = new AbortController();
    loadStatic(ctl.signal).then(setStat, (e) => e.name !== 'AbortError' && setErr(e));
    return () => ctl.abort();
  }, []);

  const refresh = useCallback(async (signal) => {
    if (!stat) return;
    const w = winNow();
    // every model at first and once a minute (a model may join the fleet), else those seen
    const narrow = scans.current++ % 6 ? known.current : null;
    try {
      const [a, p] = await Promise.all([
        loadAvail(stat.models, w, narrow, signal),
        api('GET', '/v1/pool', undefined, { signal }),
      ]);
      known.current = new Set(a.map((x) => x.model));
      setWin(w);
      setAvail(a);
      setPool(p);
      setAt(p.at);
      setErr(null);
    } catch (e) {
      if (e.name !== 'AbortError') setErr(e);
    }
  }, [stat, params.from, params.until]);
  useEffect(() => {
    scans.current = 0; // a new window: every model asked again
  }, [params.from, params.until]);

  usePoll((signal) => refresh(signal), 10000, [refresh]);
  // Something happened that this caller may see (a container, a reservation, a node): refresh
  // soon, once for a burst of events, and at most every 3 s (a busy fleet's stream must not
  // turn into a storm of availability calls).
  const soon = useRef(null);
  const last = useRef(0);
  useEvents(() => {
    if (soon.current) return;
    const wait = Math.max(400, last.current + 3000 - Date.now());
    soon.current = setTimeout(() => {
      soon.current = null;
      last.current = Date.now();
      setTick((t) => t + 1);
    }, wait);
  });
  useEffect(() => () => clearTimeout(soon.current), []);
  useEffect(() => {
    if (tick) refresh();
  }, [tick]);

  const poolBy = useMemo(() => new Map(((pool && pool.models) || []).map((m) => [m.model, m])), [pool]);
  const modelBy = useMemo(() => new Map(((stat && stat.models) || []).map((m) => [m.name, m])), [stat]);
  const open = params.model || '';
  const openA = avail && avail.find((a) => a.model === open);
  const pick = (gpu) => setParams({ gpu: params.gpu === gpu ? '' : gpu });
  const ready = !!(avail && pool);
  const totals = (avail || []).reduce((s, a) => ({ free: s.free + a.whole_gpus_free, all: s.all + a.total_gpus }), { free: 0, all: 0 });
  const poolFree = ((pool && pool.models) || []).reduce((s, m) => s + m.gpus_free, 0);

  return html`<section data-page="pool" data-ready=${ready ? '1' : '0'}>
    <div class="pagehead">
      <h1>Pool</h1>
      <span class="muted" data-live>${at ? `live · as of ${when(at)}` : ''}</span>
    </div>
    <${WindowForm} key=${`${params.from}|${params.until}`} win=${winNow()} custom=${custom} />
    <${FormError} err=${err} />
    ${!ready
      ? html`<${Busy} what="Counting free capacity" />`
      : html`
        <div class="stats">
          <div class="stat"><b data-total="whole_gpus_free">${num(totals.free)}</b><span>of ${num(totals.all)} GPUs free ${custom ? 'in the window' : 'for the next hour'}</span></div>
          <div class="stat"><b data-total="pool_free">${num(poolFree)}</b><span>pay-as-you-go GPUs free now</span></div>
          <div class="stat"><span class="muted">Window</span><span>${when(win.start)} → ${when(win.end)}</span></div>
        </div>
        <table class="t poolsum" aria-label="free capacity by model">
          <thead><tr><th>Model</th><th class="num">Whole GPUs free</th><th class="num">Reserved price</th>
            <th class="num">Pool free now</th><th class="num">Pool price</th><th>MIG instances free</th></tr></thead>
          <tbody>${avail.map((a) => html`<${ModelRow} key=${a.model} a=${a} model=${modelBy.get(a.model)} price=${stat.price[a.model]}
            pool=${poolBy.get(a.model)} open=${{ self: a.model === open, params }} />`)}</tbody>
        </table>
        ${avail.length ? null : html`<p class="muted">No GPU in the fleet is available now (none reported, or all offline, drained or unhealthy).</p>`}
        ${openA
          ? html`<${ModelDetail} a=${openA} model=${modelBy.get(open)} price=${stat.price[open]} pool=${poolBy.get(open)} me=${me}
              chosen=${params.gpu} onPick=${pick} />`
          : html`<p class="muted hint">Open a model for its GPUs, MIG profiles and prices.</p>`}
        ${mayLaunch(me) ? html`<${LaunchPanel} me=${me} params=${params} pool=${pool} tick=${tick} onLaunched=${() => setTick((t) => t + 1)} />` : null}
        <${ContainersPanel} me=${me} params=${params} tick=${tick} />`}
  </section>`;
}

export default { id: 'pool', title: 'Pool', roles: ['operator', 'org_admin', 'member'], view: Pool };
