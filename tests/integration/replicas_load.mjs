// replicas_load.mjs — the load of tests/integration/replicas.sh: many clients firing the
// calls that move capacity and money (the five-call flow ending in a confirmation,
// self-service reservations, cancellations, top-ups) at one or several `allot server`
// replicas, while the suite kills and restarts them.
//
// Each call goes to a replica drawn at random. A call whose answer is lost (connection
// refused or reset, a timeout, a 500 or 503 from a replica whose database connection went
// away) is sent again, with the same Idempotency-Key and body, to another replica, until it
// has an answer or RETRY_S seconds pass: the key makes the retry safe, which is the point
// being tested. Every answer a client finally got is one JSON line in OUT:
//   {op, key, status, id?, org, replica, tries, start?, end?, count?, model?, amount?}
// and a call given up on (no answer within RETRY_S) is a line with status 0, so that the
// checker knows which outcomes are unknown.
//
// Environment: URLS (comma-separated base URLs), OP (operator token), ORGS (a JSON file:
// [{name, admin, terms}]), OUT, LOAD_SECONDS, CLIENTS, NOW_FILE (the test clock's file: unix
// seconds), MODELS (comma-separated models of whole-GPU asks), RETRY_S (default 30).
import { readFileSync, appendFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

const env = (k, d) => process.env[k] ?? d;
const urls = env('URLS', '').split(',').filter(Boolean);
const op = env('OP');
const orgs = JSON.parse(readFileSync(env('ORGS'), 'utf8'));
const out = env('OUT');
const seconds = Number(env('LOAD_SECONDS', '20'));
const clients = Number(env('CLIENTS', '16'));
const nowFile = env('NOW_FILE');
const models = env('MODELS', 'H100-80GB').split(',');
const retryS = Number(env('RETRY_S', '30'));
if (!urls.length || !op || !out || !nowFile) {
  console.error('replicas_load: URLS, OP, ORGS, OUT and NOW_FILE are required');
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (a) => a[Math.floor(Math.random() * a.length)];
const rnd = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
const iso = (s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
const now = () => Number(readFileSync(nowFile, 'utf8').trim());
const stats = { calls: 0, retries: 0, lost: 0, by: {} };

function record(line) {
  appendFileSync(out, JSON.stringify(line) + '\n');
  const k = `${line.op} ${line.status}`;
  stats.by[k] = (stats.by[k] ?? 0) + 1;
}

// One call, retried on another replica until it is answered. Returns {status, body, replica,
// tries}; status 0 when no replica answered within RETRY_S.
async function call(token, method, path, body, key) {
  const deadline = Date.now() + retryS * 1000;
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (key) headers['Idempotency-Key'] = key;
  let tries = 0;
  let last = -1;
  for (;;) {
    let i = Math.floor(Math.random() * urls.length);
    if (urls.length > 1 && i === last) i = (i + 1) % urls.length;
    last = i;
    tries++;
    stats.calls++;
    try {
      const res = await fetch(urls[i] + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10000),
      });
      const text = await res.text();
      // 500: the replica lost its database mid-call, the outcome unknown to it; 503: it is
      // shutting down or cannot reach the database. Both are retried with the key.
      if (res.status !== 500 && res.status !== 503) {
        let parsed = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = { unparsed: text.slice(0, 200) };
        }
        return { status: res.status, body: parsed, replica: i, tries };
      }
    } catch {
      // refused, reset or timed out: the replica is down or was killed mid-call
    }
    if (Date.now() > deadline) {
      stats.lost++;
      return { status: 0, body: null, replica: i, tries };
    }
    stats.retries++;
    await sleep(rnd(50, 250));
  }
}

function ask(org) {
  const t = now();
  const start = (Math.floor(t / 3600) + rnd(1, 36)) * 3600;
  const end = start + rnd(1, 12) * 3600;
  return { org: org.name, kind: 'gpu', model: pick(models), count: rnd(1, 2),
           start: iso(start), end: iso(end) };
}

const mine = []; // reservations this process created and has not cancelled: {id, org}

function done(op, key, org, r, extra = {}) {
  const line = { op, key, status: r.status, org: org.name, replica: r.replica, tries: r.tries,
                 ...extra };
  if (r.body && typeof r.body.id === 'string') line.id = r.body.id;
  if (r.status >= 400 && r.body?.error) line.error = r.body.error.code ?? r.body.error;
  record(line);
  return line;
}

// The operator-approved flow: request, quote, approve, accept, confirm; each step keyed.
async function flow(org) {
  const k = randomUUID();
  const a = ask(org);
  let r = await call(org.admin, 'POST', '/v1/requests', a, `${k}-r`);
  if (r.status !== 201) return done('request', `${k}-r`, org, r);
  const req = r.body.id;
  const steps = [[op, 'quote', {}], [op, 'approve', {}], [org.admin, 'accept', {}]];
  for (const [tok, step, b] of steps) {
    r = await call(tok, 'POST', `/v1/requests/${req}/${step}`, b, `${k}-${step}`);
    if (r.status !== 200) return done(step, `${k}-${step}`, org, r, { request: req });
  }
  r = await call(op, 'POST', `/v1/requests/${req}/confirm`, {}, `${k}-confirm`);
  const line = done('confirm', `${k}-confirm`, org, r, { request: req, start: a.start,
                    end: a.end, count: a.count, model: a.model });
  if (r.status === 201) mine.push({ id: line.id, org });
}

async function reserve(org) {
  const k = randomUUID();
  const a = ask(org);
  const r = await call(org.admin, 'POST', '/v1/reservations', a, k);
  const line = done('reserve', k, org, r, { start: a.start, end: a.end, count: a.count,
                    model: a.model });
  if (r.status === 201) mine.push({ id: line.id, org });
}

async function cancel() {
  if (!mine.length) return;
  const { id, org } = mine.splice(Math.floor(Math.random() * mine.length), 1)[0];
  const k = randomUUID();
  const r = await call(op, 'POST', `/v1/reservations/${id}/cancel`, { reason: 'load' }, k);
  done('cancel', k, org, r, { reservation: id });
}

async function topup(org) {
  const k = randomUUID();
  const amount = rnd(1, 1000) * 1000000;
  const r = await call(op, 'POST', `/v1/orgs/${org.name}/topups`, { amount_micros: amount }, k);
  done('topup', k, org, r, { amount, id: r.body?.transfer?.id });
}

async function client(until) {
  while (Date.now() < until) {
    const org = pick(orgs);
    const x = Math.random();
    if (x < 0.35) await flow(org);
    else if (x < 0.7) await reserve(org);
    else if (x < 0.85) await cancel();
    else await topup(org);
  }
}

const until = Date.now() + seconds * 1000;
await Promise.all(Array.from({ length: clients }, () => client(until)));
console.log(JSON.stringify({ replicas_load: stats }));
