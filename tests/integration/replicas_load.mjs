// replicas_load.mjs — the load of tests/integration/replicas.sh: many clients firing the
// calls that move capacity and money (the five-call flow ending in a confirmation,
// self-service reservations, extensions that charge, shortenings and cancellations that
// refund, top-ups, and requests quoted and then left for their quote to expire) at one or
// several `allot server` replicas, while the suite kills and restarts them.
//
// Each call goes to a replica drawn at random. A call whose answer is lost (connection
// refused or reset, a timeout, a 500 or 503 from a replica whose database connection went
// away) is sent again, with the same Idempotency-Key and body, to another replica, until it
// has an answer or RETRY_S seconds pass: the key makes the retry safe, which is the point
// being tested. Every answer a client finally got is one JSON line in OUT:
//   {op, key, status, id?, org, terms, replica, tries, error?, …the op's own fields}
// (confirm, reserve: start, end, count, model, total; extend: reservation, end, extension;
// shorten, cancel: reservation, end?, refund, fee; topup: amount; abandon: request, stage)
// and a call given up on (no answer within RETRY_S) is a line with status 0, so that the
// checker knows which outcomes are unknown.
//
// It runs for LOAD_SECONDS, or until TARGET reservations were answered 201 (confirmations
// and self-service together; 0: no target), whichever comes first.
//
// Environment: URLS (comma-separated base URLs), OP (operator token), ORGS (a JSON file:
// [{name, admin, terms}]), OUT, LOAD_SECONDS, TARGET (0), CLIENTS, NOW_FILE (the test
// clock's file: unix seconds), MODELS (comma-separated models of whole-GPU asks), AHEAD_H
// (36: a window starts 1..AHEAD_H whole hours after the hour in progress), LENGTH_H (12: it
// lasts 1..LENGTH_H hours), RETRY_S (default 30).
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
const target = Number(env('TARGET', '0'));
const aheadH = Number(env('AHEAD_H', '36'));
const lengthH = Number(env('LENGTH_H', '12'));
if (!urls.length || !op || !out || !nowFile) {
  console.error('replicas_load: URLS, OP, ORGS, OUT and NOW_FILE are required');
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (a) => a[Math.floor(Math.random() * a.length)];
const rnd = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
const iso = (s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
const now = () => Number(readFileSync(nowFile, 'utf8').trim());
const stats = { calls: 0, retries: 0, lost: 0, reservations: 0, by: {} };

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
  const start = (Math.floor(t / 3600) + rnd(1, aheadH)) * 3600;
  const end = start + rnd(1, lengthH) * 3600;
  return { org: org.name, kind: 'gpu', model: pick(models), count: rnd(1, 2),
           start: iso(start), end: iso(end) };
}

const secs = (t) => Math.floor(Date.parse(t) / 1000);
// Reservations this process created and has not cancelled: {id, org, start, end} (seconds;
// `end` as the last extension or shortening answered).
const mine = [];

function done(op, key, org, r, extra = {}) {
  const line = { op, key, status: r.status, org: org.name, terms: org.terms,
                 replica: r.replica, tries: r.tries, ...extra };
  if (r.body && typeof r.body.id === 'string') line.id = r.body.id;
  if (r.status >= 400 && r.body?.error) line.error = r.body.error.code ?? r.body.error;
  record(line);
  return line;
}

// A reservation answered 201 (confirmed or self-service): recorded with what it was sold
// for, and kept for the cancellations, extensions and shortenings.
function sold(op, key, org, r, a) {
  const b = r.status === 201 ? r.body : null;
  const line = done(op, key, org, r, { start: a.start, end: a.end, count: a.count,
                    model: a.model, total: b?.total_micros });
  if (b) {
    stats.reservations++;
    mine.push({ id: line.id, org, start: secs(b.start), end: secs(b.end) });
  }
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
  sold('confirm', `${k}-confirm`, org, r, a);
}

// A request quoted for 20 to 50 minutes of the clock, perhaps approved and accepted,
// and then left: the clock must expire it, once (the checker's "abandon" lines with a quote
// answered 200).
async function abandon(org) {
  const k = randomUUID();
  let r = await call(org.admin, 'POST', '/v1/requests', ask(org), `${k}-r`);
  if (r.status !== 201) return done('request', `${k}-r`, org, r);
  const req = r.body.id;
  const steps = [[op, 'quote', { valid_for_minutes: rnd(20, 50) }], [op, 'approve', {}],
                 [org.admin, 'accept', {}]].slice(0, rnd(1, 3));
  let stage = 'submitted';
  for (const [tok, step, b] of steps) {
    r = await call(tok, 'POST', `/v1/requests/${req}/${step}`, b, `${k}-${step}`);
    if (r.status !== 200) break;
    stage = step;
  }
  done('abandon', `${k}-${stage}`, org, r, { request: req, stage });
}

async function reserve(org) {
  const k = randomUUID();
  const a = ask(org);
  const r = await call(org.admin, 'POST', '/v1/reservations', a, k);
  sold('reserve', k, org, r, a);
}

// One of mine, drawn at random: taken out of the list (a cancellation), or left in it.
function draw(take) {
  if (!mine.length) return null;
  const i = Math.floor(Math.random() * mine.length);
  return take ? mine.splice(i, 1)[0] : mine[i];
}

async function cancel() {
  const m = draw(true);
  if (!m) return;
  const k = randomUUID();
  const r = await call(op, 'POST', `/v1/reservations/${m.id}/cancel`, { reason: 'load' }, k);
  done('cancel', k, m.org, r, { reservation: m.id, refund: r.body?.refund_micros,
                                fee: r.body?.fee_micros });
}

// An extension by the org's admin: 1 to 3 hours more, charged at the frozen rates.
async function extend() {
  const m = draw(false);
  if (!m) return;
  const k = randomUUID();
  const end = iso(m.end + rnd(1, 3) * 3600);
  const r = await call(m.org.admin, 'POST', `/v1/reservations/${m.id}/extend`, { end }, k);
  done('extend', k, m.org, r, { reservation: m.id, end: r.body?.end,
                                extension: r.body?.extension_micros });
  if (r.status === 200) m.end = secs(r.body.end);
}

// A shortening by the operator: 1 to 3 hours less, when that leaves some of the window and
// is not in the past; the time given up is refunded less the fee.
async function shorten() {
  const m = draw(false);
  if (!m) return;
  const e = m.end - rnd(1, 3) * 3600;
  if (e <= Math.max(m.start, now() + 60)) return;
  const k = randomUUID();
  const r = await call(op, 'POST', `/v1/reservations/${m.id}/shorten`, { end: iso(e) }, k);
  done('shorten', k, m.org, r, { reservation: m.id, end: r.body?.end,
                                 refund: r.body?.refund_micros, fee: r.body?.fee_micros });
  if (r.status === 200) m.end = secs(r.body.end);
}

async function topup(org) {
  const k = randomUUID();
  const amount = rnd(1, 1000) * 1000000;
  const r = await call(op, 'POST', `/v1/orgs/${org.name}/topups`, { amount_micros: amount }, k);
  done('topup', k, org, r, { amount, id: r.body?.transfer?.id });
}

// The mix: nearly three calls in five sell (a third of them by the five-call flow), three in
// ten move the money of a sale (cancel, extend, shorten), the rest top up or leave a quote
// to expire.
async function client(until) {
  while (Date.now() < until && !(target > 0 && stats.reservations >= target)) {
    const org = pick(orgs);
    const x = Math.random();
    if (x < 0.2) await flow(org);
    else if (x < 0.58) await reserve(org);
    else if (x < 0.68) await cancel();
    else if (x < 0.78) await extend();
    else if (x < 0.88) await shorten();
    else if (x < 0.94) await topup(org);
    else await abandon(org);
  }
}

const until = Date.now() + seconds * 1000;
const t0 = Date.now();
await Promise.all(Array.from({ length: clients }, () => client(until)));
stats.seconds = Math.round((Date.now() - t0) / 100) / 10;
console.log(JSON.stringify({ replicas_load: stats }));
