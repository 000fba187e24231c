// pool_launch.js — the Pool page's containers: launching one (POST /v1/containers) on a GPU
// picked from the pool, on any free GPU of a model, or on a unit of one of the org's active
// reservations; and the containers the caller sees, newest first, each with its state, its logs
// (the tail its node's agent last sent) and a Stop for who may stop it.
import { html, useEffect, useMemo, useRef, useState } from '../lib/html.js';
import { api, apiAll, qs } from '../lib/api.js';
import { setParams } from '../lib/route.js';
import { Badge, FormError, VirtualList, usePoll, when } from '../lib/ui.js';

// Operators start no container (the API answers 403): only an org's admins and members.
export function mayLaunch(me) {
  return me.role === 'org_admin' || me.role === 'member';
}

// Who started it, an admin of its org (who sees only their org's) or an operator.
function mayStop(me, c) {
  return me.role === 'operator' || me.role === 'org_admin' || c.user === me.id;
}

const LIVE = new Set(['pending', 'running', 'stopping']);
// A select of reservation units stays usable: an org with more asks by `allot container run`.
const MAX_TARGETS = 500;

// A command line as the argv the API takes: words split at blanks, '…' kept as it is, "…"
// with \" \\ \$ escapes, a backslash outside quotes escaping the next character. No shell
// runs it: `sh -c '…'` is how to ask for one. Returns {argv, error}.
export function splitCommand(line) {
  const argv = [];
  let cur = null;
  let i = 0;
  const s = line || '';
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      if (cur !== null) argv.push(cur);
      cur = null;
      i++;
    } else if (c === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) return { argv, error: 'a quote (\') is not closed' };
      cur = (cur || '') + s.slice(i + 1, j);
      i = j + 1;
    } else if (c === '"') {
      let j = i + 1;
      let out = '';
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\' && j + 1 < s.length && '"\\$`'.includes(s[j + 1])) j++;
        out += s[j++];
      }
      if (j >= s.length) return { argv, error: 'a quote (") is not closed' };
      cur = (cur || '') + out;
      i = j + 1;
    } else if (c === '\\' && i + 1 < s.length) {
      cur = (cur || '') + s[i + 1];
      i += 2;
    } else {
      cur = (cur || '') + c;
      i++;
    }
  }
  if (cur !== null) argv.push(cur);
  return { argv, error: null };
}

// KEY=VALUE lines as the env object; blank lines and lines starting with # are skipped.
function parseEnv(text) {
  const env = {};
  for (const raw of (text || '').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return { env, error: `"${line}" is not KEY=VALUE` };
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { env, error: null };
}

// The API's error when it names `name` or a member of it (command[2], env.KEY, target.pool.gpu).
function FieldErr({ err, name }) {
  if (!err || !err.field) return null;
  const f = err.field;
  if (f !== name && !f.startsWith(`${name}[`) && !f.startsWith(`${name}.`)) return null;
  return html`<p class="error" data-field=${f} role="alert">${err.message}</p>`;
}

function targetOf(value) {
  const [kind, id, unit] = value.split(':');
  if (kind === 'gpu') return { pool: { gpu: id } };
  if (kind === 'model') return { pool: { model: id } };
  if (kind === 'rsv') return unit === '' || unit === undefined ? { reservation: id } : { reservation: id, unit: Number(unit) };
  return null;
}

// Where a container can go: the GPU chosen in the list, any free GPU of a pool model, or a unit
// of an active reservation of the org.
function targets(params, pool, rsvs) {
  const out = [];
  if (params.gpu) out.push({ value: `gpu:${params.gpu}`, label: `Pool GPU ${params.gpu} (chosen above)` });
  for (const m of (pool && pool.models) || []) {
    if (m.gpus_free > 0) out.push({ value: `model:${m.model}`, label: `Any free ${m.model} of the pool (${m.gpus_free} free)` });
  }
  for (const r of rsvs || []) {
    const units = r.allocations || [];
    units.forEach((a, i) => {
      if (out.length >= MAX_TARGETS) return;
      const what = a.kind === 'mig' ? `${a.profile} on ${a.gpu}` : a.gpu;
      out.push({ value: `rsv:${r.id}:${i}`, label: `Reservation ${r.id}, unit ${i}: ${what} (until ${when(r.end)})` });
    });
  }
  return out;
}

export function LaunchPanel({ params, pool, tick, onLaunched }) {
  const [rsvs, setRsvs] = useState(null);
  const [form, setForm] = useState({ image: '', command: '', env: '' });
  const [target, setTarget] = useState('');
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  // the org's active reservations: again when the page refreshes (a reservation.active event)
  usePoll((signal) => {
    apiAll('/v1/reservations?state=active', 500, { signal }).then(setRsvs, (e) => e.name !== 'AbortError' && setRsvs([]));
  }, 30000, [tick]);
  const opts = useMemo(() => targets(params, pool, rsvs), [params.gpu, pool, rsvs]);
  const imageRef = useRef(null);
  // a GPU chosen in the list: the form is where the keyboard goes next
  useEffect(() => {
    if (!params.gpu) return;
    setTarget(`gpu:${params.gpu}`);
    if (imageRef.current) {
      imageRef.current.scrollIntoView({ block: 'center' });
      imageRef.current.focus({ preventScroll: true });
    }
  }, [params.gpu]);
  const chosen = opts.some((o) => o.value === target) ? target : opts.length ? opts[0].value : '';
  const cmd = splitCommand(form.command);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const launch = async (e) => {
    e.preventDefault();
    setErr(null);
    const env = parseEnv(form.env);
    if (cmd.error || env.error) {
      setErr({ field: cmd.error ? 'command' : 'env', message: cmd.error || env.error });
      return;
    }
    const body = { image: form.image.trim(), command: cmd.argv, target: targetOf(chosen) };
    if (Object.keys(env.env).length) body.env = env.env;
    setBusy(true);
    try {
      const c = await api('POST', '/v1/containers', body);
      setParams({ ctr: c.id, gpu: '' });
      onLaunched(c);
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card launch" aria-label="launch a container">
    <h2>Launch a container</h2>
    <form onSubmit=${launch} noValidate>
      <div class="launchgrid">
        <label class="field"><span>Run on</span>
          <select name="target" value=${chosen} onChange=${(e) => setTarget(e.currentTarget.value)} disabled=${!opts.length}>
            ${opts.length ? opts.map((o) => html`<option value=${o.value}>${o.label}</option>`) : html`<option value="">nothing free now</option>`}
          </select>
          <${FieldErr} err=${err} name="target" /></label>
        <label class="field"><span>Image</span>
          <input name="image" ref=${imageRef} value=${form.image} placeholder="registry.example.com/team/trainer:1.4" spellcheck=${false}
            aria-invalid=${err && err.field === 'image' ? 'true' : 'false'} onInput=${set('image')} />
          <${FieldErr} err=${err} name="image" /></label>
        <label class="field wide"><span>Command</span>
          <input name="command" class="mono" value=${form.command} placeholder="python train.py --epochs 3   or   sh -c 'nvidia-smi; sleep 600'"
            spellcheck=${false} aria-invalid=${err && (err.field || '').startsWith('command') ? 'true' : 'false'} onInput=${set('command')} />
          <small class="muted argv" data-argv>${cmd.argv.length
            ? html`runs as ${cmd.argv.map((a) => html`<code class="arg">${a}</code>`)} (no shell)`
            : "the program and its arguments, run without a shell: quote with '…' or \"…\""}</small>
          <${FieldErr} err=${err} name="command" /></label>
        <label class="field wide"><span>Environment <span class="muted">(optional, KEY=VALUE a line)</span></span>
          <textarea name="env" rows="2" class="mono" value=${form.env} spellcheck=${false} onInput=${set('env')}
            placeholder="EPOCHS=3"></textarea>
          <${FieldErr} err=${err} name="env" /></label>
      </div>
      <${OtherErr} err=${err} names=${['target', 'image', 'command', 'env']} />
      <button type="submit" data-action="launch" disabled=${busy || !opts.length}>${busy ? 'Launching…' : 'Launch'}</button>
      <span class="muted small"> The container gets exactly its GPU (NVIDIA_VISIBLE_DEVICES), no network; pool time is billed per second.</span>
    </form>
  </section>`;
}

// The error of no input here (no field, or one the form has no input for): FormError's test
// is by exact name, and a member of an input's field (command[1], env.KEY, target.pool.gpu)
// is shown by that input's FieldErr.
function OtherErr({ err, names }) {
  if (!err) return null;
  const f = err.field || '';
  if (f && names.some((n) => f === n || f.startsWith(`${n}[`) || f.startsWith(`${n}.`))) return null;
  return html`<${FormError} err=${err} />`;
}

function where(c) {
  const t = c.target || {};
  if (t.kind === 'pool') return `pool · ${t.model}`;
  if (t.kind === 'reservation') return `${t.reservation} · unit ${t.unit}`;
  return '—';
}

function Detail({ me, id, onChanged }) {
  const [c, setC] = useState(null);
  const [logs, setLogs] = useState('');
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const live = !c || LIVE.has(c.state);
  usePoll(async (signal) => {
    try {
      const [x, l] = await Promise.all([
        api('GET', `/v1/containers/${encodeURIComponent(id)}`, undefined, { signal }),
        api('GET', `/v1/containers/${encodeURIComponent(id)}/logs`, undefined, { signal, text: true }),
      ]);
      setC((prev) => {
        if (prev && prev.state !== x.state) onChanged(); // the list shows the new state too
        return x;
      });
      setLogs(l);
    } catch (e) {
      if (e.name !== 'AbortError') setErr(e);
    }
  }, live ? 2000 : 30000, [id, live]);
  const stop = async () => {
    setBusy(true);
    setErr(null);
    try {
      setC(await api('POST', `/v1/containers/${encodeURIComponent(id)}/stop`, {}));
      onChanged();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  if (!c) return html`<section class="card" data-container=${id}><${FormError} err=${err} />${err ? null : html`<p class="busy">Reading ${id}…</p>`}</section>`;
  return html`<section class="card ctrdetail" data-container=${c.id} data-state=${c.state}>
    <div class="pagehead">
      <h2><span class="mono">${c.id}</span> <${Badge} state=${c.state} /></h2>
      <span>
        ${c.desired === 'run' && mayStop(me, c) && LIVE.has(c.state)
          ? html`<button class="danger" data-action="stop" data-id=${c.id} disabled=${busy} onClick=${stop}>Stop</button>`
          : null}
        <button class="secondary" data-action="close" onClick=${() => setParams({ ctr: '' })}>Close</button>
      </span>
    </div>
    <${FormError} err=${err} />
    ${c.warning ? html`<p class="error" data-field="">Warned: ${c.warning.reason}, stops at ${when(c.warning.stop_at)}.</p>` : null}
    <dl class="kv">
      <dt>Image</dt><dd class="mono">${c.image}</dd>
      <dt>Command</dt><dd>${(c.command || []).map((a) => html`<code class="arg">${a}</code>`)}</dd>
      <dt>Org · started by</dt><dd class="mono">${c.org} · ${c.user}${c.user === me.id ? ' (you)' : ''}</dd>
      <dt>Runs on</dt><dd>${where(c)} · node ${c.node} · <span class="mono">${c.gpu}</span> · device <span class="mono">${c.device || '—'}</span></dd>
      <dt>Started</dt><dd>${when(c.started_at)} <span class="muted">(created ${when(c.created_at)})</span></dd>
      ${c.stopped_at ? html`<dt>Ended</dt><dd>${when(c.stopped_at)}${c.stop_reason ? ` · ${c.stop_reason}` : ''}${c.exit_code !== null && c.exit_code !== undefined ? ` · exit ${c.exit_code}` : ''}</dd>` : null}
      ${c.error ? html`<dt>Error</dt><dd class="bad">${c.error}</dd>` : null}
    </dl>
    <h3>Logs <span class="muted small">${live ? '(refreshed every 2 s)' : ''}</span></h3>
    <pre class="logs mono" data-logs tabindex="0">${logs || (c.state === 'pending' ? 'Waiting for the node’s agent to start it…' : '(no output yet)')}</pre>
  </section>`;
}

export function ContainersPanel({ me, params, tick }) {
  const [items, setItems] = useState(null);
  const [err, setErr] = useState(null);
  const all = params.ctrs === 'all';
  const [again, setAgain] = useState(0);
  const anyLive = (items || []).some((c) => LIVE.has(c.state));
  usePoll(async (signal) => {
    try {
      const r = await api('GET', `/v1/containers${qs({ limit: 200, state: '' })}`, undefined, { signal });
      setItems(r.items);
    } catch (e) {
      if (e.name !== 'AbortError') setErr(e);
    }
  }, anyLive ? 3000 : 15000, [tick, anyLive, again]);
  const shown = (items || []).filter((c) => all || LIVE.has(c.state) || c.id === params.ctr);
  const open = (id) => setParams({ ctr: params.ctr === id ? '' : id });
  return html`<section class="ctrs" aria-label="containers">
    <div class="pagehead">
      <h2>${me.role === 'operator' ? 'Containers (every org)' : me.role === 'org_admin' ? 'Your org’s containers' : 'Your containers'}</h2>
      <label class="inline"><input type="checkbox" name="ctrs_all" checked=${all}
        onChange=${(e) => setParams({ ctrs: e.currentTarget.checked ? 'all' : '' })} /> show ended ones</label>
    </div>
    <${FormError} err=${err} />
    ${!items
      ? html`<p class="busy">Reading containers…</p>`
      : shown.length
        ? html`<${VirtualList} label="containers" items=${shown} rowHeight=${34} height=${Math.min(34 * 10, 34 * shown.length + 2)}
            header=${html`<span class="c2">Container</span><span class="c1">State</span><span class="c2">Image</span><span class="c2">Runs on</span><span class="c2">Started</span><span class="c1"></span>`}
            render=${(c) => html`<button class="link rowbtn c2 mono" data-id=${c.id} data-state=${c.state} aria-expanded=${params.ctr === c.id ? 'true' : 'false'}
                onClick=${() => open(c.id)}>${c.id}</button>
              <span class="c1"><${Badge} state=${c.state} /></span>
              <span class="c2 mono">${c.image}</span>
              <span class="c2">${where(c)}</span>
              <span class="c2">${when(c.started_at || c.created_at)}</span>
              <span class="c1"><button class="secondary" data-action="logs" data-id=${c.id} onClick=${() => open(c.id)}>Logs</button></span>`} />`
        : html`<p class="muted">${all ? 'No container yet.' : 'No container running.'}${mayLaunch(me) ? ' Launch one above.' : ''}</p>`}
    ${params.ctr ? html`<${Detail} key=${params.ctr} me=${me} id=${params.ctr} onChanged=${() => setAgain((n) => n + 1)} />` : null}
  </section>`;
}
