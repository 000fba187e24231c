// reservations_time.mjs — the Reservations timeline's arithmetic (web/pages/reservations_time.js:
// the window, the axis, the rows and holds of the grid, the filters) checked in node, without
// a browser: run by tests/integration/browser_reservations.sh before the page's spec. Prints
// "ok - …" / "not ok - …" per check; exits 1 when one failed.
import { ZOOMS, buildModel, holdsIn, ticks, visibleRows, windowStart, zoomAround, zoomOf } from '../../web/pages/reservations_time.js';

let failed = 0;
function check(desc, cond) {
  console.log(`${cond ? 'ok' : 'not ok'} - reservations_time: ${desc}`);
  if (!cond) failed++;
}

const H = 3600e3, D = 24 * H;
const T = (iso) => Date.parse(iso);
const now = T('2026-12-07T10:34:00Z');

// the window
check('day opens on today 00:00 UTC', windowStart('', zoomOf('day'), now) === T('2026-12-07T00:00:00Z'));
check('the longer views open a day before', windowStart(undefined, zoomOf('quarter'), now) === T('2026-12-06T00:00:00Z'));
check('a start in the URL is kept, to the minute', windowStart('2026-12-01T05:30:45Z', zoomOf('week'), now) === T('2026-12-01T05:30:00Z'));
check('a start that is no time falls back to the default', windowStart('yesterday', zoomOf('week'), now) === T('2026-12-06T00:00:00Z'));
check('an unknown zoom is a week', zoomOf('decade').id === 'week' && ZOOMS.map((z) => z.id).join() === 'day,week,month,quarter');
const week = zoomOf('week'), month = zoomOf('month');
const s = zoomAround(T('2026-12-06T00:00:00Z'), week, month);
check('zooming out keeps the middle of the window (to the day)', s === T('2026-11-24T00:00:00Z') &&
  Math.abs(s + month.span / 2 - (T('2026-12-06T00:00:00Z') + week.span / 2)) <= D / 2);

// the axis
const day = ticks(T('2026-12-07T00:00:00Z'), zoomOf('day'));
check('a day is ruled every hour and labelled every 3 hours', day.length === 24 &&
  day.filter((k) => k.text).map((k) => k.text).join() === '00:00,03:00,06:00,09:00,12:00,15:00,18:00,21:00');
const wk = ticks(T('2026-12-06T00:00:00Z'), week);
check('a week names its 7 days', wk.filter((k) => k.text).map((k) => k.text).join() ===
  'Sun 6 Dec,Mon 7 Dec,Tue 8 Dec,Wed 9 Dec,Thu 10 Dec,Fri 11 Dec,Sat 12 Dec');
const q = ticks(T('2026-12-06T00:00:00Z'), zoomOf('quarter'));
check('a quarter is ruled on Mondays and marks each month\'s first day',
  q.filter((k) => k.text).every((k) => new Date(k.t).getUTCDay() === 1) &&
  q.filter((k) => k.month).map((k) => k.month).join() === 'Jan 2027,Feb 2027,Mar 2027');
check('no tick before the window', [...day, ...wk, ...q].every((k) => k.t >= T('2026-12-06T00:00:00Z')));

// the rows and the holds
const models = [{ name: 'H100-80GB', units: 8, profiles: [{ name: '3g.40gb', size: 4 }, { name: '1g.10gb', size: 1 }] },
  { name: 'L40S-48GB', units: 0, profiles: [] }];
const nodes = [
  { name: 'n2', gpus: [{ id: 'gpu_n2-1', index: 1, model: 'H100-80GB', status: 'available' }, { id: 'gpu_n2-0', index: 0, model: 'H100-80GB', status: 'offline' }] },
  { name: 'n1', gpus: [{ id: 'gpu_n1-0', index: 0, model: 'L40S-48GB', status: 'available' }] },
];
const rsv = [
  { id: 'rsv_a', org: 'org_a', state: 'active', start: '2026-12-07T00:00:00Z', end: '2026-12-09T00:00:00Z', model: 'H100-80GB',
    allocations: [{ node: 'n2', gpu: 'gpu_n2-0', kind: 'mig', profile: '3g.40gb', start_unit: 4 }] },
  { id: 'rsv_b', org: 'org_b', state: 'scheduled', start: '2026-12-20T00:00:00Z', end: '2026-12-21T00:00:00Z', model: 'L40S-48GB',
    allocations: [{ node: 'n1', gpu: 'gpu_n1-0', kind: 'gpu' }] },
];
const m = buildModel(nodes, rsv, models);
check('rows by node, then index', m.rows.map((r) => r.id).join() === 'gpu_n1-0,gpu_n2-0,gpu_n2-1');
const h = m.holds.get('gpu_n2-0')[0];
check('a 3g.40gb at unit 4 of 8 is drawn on units 4-7', h.top === 4 && h.size === 4 && m.rows[1].units === 8);
check('a whole GPU has no unit band', m.holds.get('gpu_n1-0')[0].size === 0);
const org = buildModel([], rsv, models);
check('an org\'s view has the rows of its allocations', org.rows.map((r) => `${r.id}:${r.index}:${r.model}`).join() ===
  'gpu_n1-0:0:L40S-48GB,gpu_n2-0:0:H100-80GB');
const w0 = T('2026-12-06T00:00:00Z'), w1 = w0 + 7 * D;
check('a hold meets the window it overlaps, not one that ends at its start',
  holdsIn(m.holds.get('gpu_n2-0'), {}, w0, w1).length === 1 && holdsIn(m.holds.get('gpu_n2-0'), {}, T('2026-12-09T00:00:00Z'), w1).length === 0);
check('the node filter takes a part of the name', visibleRows(m, { node: 'N2' }, w0, w1).length === 2);
check('the model filter', visibleRows(m, { model: 'L40S-48GB' }, w0, w1).map((r) => r.id).join() === 'gpu_n1-0');
check('an org filter leaves the GPUs that org holds, at any time', visibleRows(m, { org: 'org_b' }, w0, w1).map((r) => r.id).join() === 'gpu_n1-0');
check('held leaves the GPUs held in the window', visibleRows(m, { held: true }, w0, w1).map((r) => r.id).join() === 'gpu_n2-0');
check('a state filter with held', visibleRows(m, { held: true, state: 'scheduled' }, w0, w0 + 30 * D).map((r) => r.id).join() === 'gpu_n1-0');

process.exit(failed ? 1 : 0);
