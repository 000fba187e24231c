// lib.mjs — what the dashboard's browser specs (tests/browser/<group>.mjs) share: Debian's
// chromium driven by playwright-core, the login, the wait for a page to be ready, the checks
// printed as "ok - …" / "not ok - …" (the integration suites' TAP-like lines, counted by
// scripts/run-tests.sh), screenshots, timings, and calls to the API to compare a page with.
//
// A spec is run by its suite tests/integration/browser_<group>.sh (browser_lib.sh starts the
// world and exports what a spec reads from the environment):
//   U                 the server's base URL (http://127.0.0.1:PORT)
//   OP_TOKEN, ADMIN_TOKEN, MEMBER_TOKEN, OTHER_ADMIN_TOKEN   the world's tokens
//   WORLD             the world's JSON file (ids and names: browser_lib.sh lists them)
//   SHOTS             where shot() writes PNGs (default: a new temp directory, said once)
//   CHROMIUM          the browser binary (default: /usr/lib/chromium/chromium, Debian's real
//                     binary behind its /usr/bin/chromium shell wrapper, else the wrapper)
//   HEADED=1          show the browser (needs a display); SLOWMO=MS slows each action
//   SPEC_TIMEOUT      seconds before a hung spec is stopped as failed (default 120)
//
// A spec:
//   import { run, login, ready, check, shot, timing, api, env } from './lib.mjs';
//   run(async (t) => {
//     const page = await t.page('operator');
//     await login(page, env.OP_TOKEN);
//     check('the pool page is ready', (await ready(page, 'pool')) >= 0);
//   });
// run() launches the browser, runs the function, turns an exception into one "not ok" line,
// reports each page's console errors, CSP violations and failed loads as a check ("no console
// errors on <label>", unless the spec already asked with t.noConsoleErrors), closes the
// browser and exits 1 when any check failed.
import { chromium } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const env = process.env;
export const U = (env.U || '').replace(/\/$/, '');

// The world's ids and names (browser_lib.sh's $tmp/world.json), {} when run without one.
export const world = env.WORLD ? JSON.parse(fs.readFileSync(env.WORLD, 'utf8')) : {};

const counts = { passed: 0, failed: 0 };

// check(desc, cond): print "ok - desc" or "not ok - desc"; returns cond as a boolean.
export function check(desc, cond) {
  const line = String(desc).replace(/\s*\n\s*/g, ' ');
  if (cond) {
    counts.passed++;
    console.log(`ok - ${line}`);
  } else {
    counts.failed++;
    console.log(`not ok - ${line}`);
  }
  return !!cond;
}

// note(text): a comment line ("# …"), never counted.
export function note(text) {
  for (const l of String(text).replace(/\x1b\[[0-9;]*m/g, '').split('\n')) console.log(`# ${l}`);
}

// timing(name, ms): "# timing NAME MS ms", reported by the suites, never asserted.
export function timing(name, ms) {
  console.log(`# timing ${name} ${Math.round(ms)} ms`);
}

// The browser binary: $CHROMIUM, else Debian's real binary, else its wrapper; null if none.
export function chromiumPath() {
  const c = [env.CHROMIUM, '/usr/lib/chromium/chromium', '/usr/bin/chromium'].filter(Boolean);
  return c.find((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }) || null;
}

// launch(): a headless chromium (HEADED=1: a window). Playwright passes --no-sandbox (its
// chromiumSandbox defaults to false): the tests load only the project's own pages, and the
// sandbox cannot start as root or in an unprivileged container. --disable-dev-shm-usage keeps
// a small /dev/shm (a container's 64 MiB) from crashing the renderer.
export async function launch() {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('no chromium (scripts/deps.sh test installs it)');
  return chromium.launch({
    executablePath,
    headless: env.HEADED !== '1',
    slowMo: Number(env.SLOWMO || 0),
    args: ['--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
}

// What a page logged that is an error, per page, for noConsoleErrors().
const troubles = new WeakMap();
const pages = [];

// A 4xx answer of the API is the page's business (it shows the error to the person, and the
// wrong-role checks cause them on purpose); chromium logs each as a console error, which
// "response" below judges instead: any 5xx, and any failed load of a file (not /v1/).
const expectedApiError = /^Failed to load resource: the server responded with a status of 4\d\d/;

function watch(page, label) {
  const list = [];
  troubles.set(page, list);
  pages.push({ page, label });
  page.on('console', (m) => {
    if (m.type() === 'error' && !expectedApiError.test(m.text())) list.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => list.push(`uncaught: ${e.message}`));
  page.on('response', (r) => {
    const u = new URL(r.url());
    const isApi = u.pathname.startsWith('/v1/');
    if (r.status() >= 500 || (!isApi && r.status() >= 400))
      list.push(`${r.request().method()} ${u.pathname} answered ${r.status()}`);
  });
  page.on('requestfailed', (r) => {
    const f = r.failure()?.errorText || 'failed';
    // a navigation or a page's own abort (the event stream closed on logout) is not an error
    if (!/ERR_ABORTED/.test(f)) list.push(`${r.method()} ${r.url()}: ${f}`);
  });
}

// newPage(browser, label): a page in its own context (its own sessionStorage), a laptop's
// 1440x900 viewport; its console errors and CSP violations are collected under LABEL.
export async function newPage(browser, label = `page ${pages.length + 1}`) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  // CSP violations also reach the console, but only this event names the directive; an init
  // script is injected by the browser itself, outside the page's CSP.
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  const page = await ctx.newPage();
  watch(page, label);
  return page;
}

// noConsoleErrors(page, label): one check, "no console errors on LABEL", listing what was
// logged since the last call; run() asks again at the end for what came after.
export function noConsoleErrors(page, label) {
  const list = troubles.get(page) || [];
  const name = label || pages.find((p) => p.page === page)?.label || 'the page';
  const ok = check(`no console errors on ${name}${list.length ? `: ${list.slice(0, 3).map((x) => x.slice(0, 200)).join('; ')}` : ''}`,
    list.length === 0);
  list.length = 0;
  const p = pages.find((x) => x.page === page);
  if (p) p.asked = true;
  return ok;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until(fn, ms): await fn() every 250 ms until it gives a truthy value (returned), or null
// once ms have passed: for what a page or the API shows a little later (live updates).
export async function until(fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return null;
    await sleep(250);
  }
}

// login(page, token): the shell's login form at U/; resolves once the header shows [data-me]
// and the shell has routed to the role's first page (a spec that navigates at once is not
// sent back by that routing).
export async function login(page, token, timeoutMs = 10000) {
  await page.goto(`${U}/`);
  await page.fill('input[name=token]', token);
  await page.click('[data-action=login]');
  await page.waitForSelector('[data-me]', { timeout: timeoutMs });
  await page.waitForFunction(() => location.hash.length > 2, null, { timeout: timeoutMs });
}

// ready(page, id, timeoutMs): wait for [data-page=ID][data-ready="1"]; returns the ms waited.
export async function ready(page, id, timeoutMs = 10000) {
  const t0 = performance.now();
  await page.waitForSelector(`[data-page="${id}"][data-ready="1"]`, { timeout: timeoutMs });
  return performance.now() - t0;
}

let shotsDir = null;
// The screenshots' directory: $SHOTS, else a temp directory, made once and said once.
export function shotsPath() {
  if (shotsDir) return shotsDir;
  shotsDir = env.SHOTS || fs.mkdtempSync(path.join(os.tmpdir(), 'allot-shots-'));
  fs.mkdirSync(shotsDir, { recursive: true });
  if (!env.SHOTS) note(`screenshots in ${shotsDir}`);
  return shotsDir;
}

// shot(page, name): a full-page PNG, $SHOTS/NAME.png; returns its path.
export async function shot(page, name) {
  const file = path.join(shotsPath(), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// api(token, method, path, body): the API's answer to compare a page with: {status, body},
// body parsed when JSON (else text). A POST gets a fresh Idempotency-Key.
export async function api(token, method, p, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method === 'POST') headers['Idempotency-Key'] = randomUUID();
  const r = await fetch(`${U}${p}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed = text;
  if ((r.headers.get('content-type') || '').includes('json') && text) parsed = JSON.parse(text);
  return { status: r.status, body: parsed, headers: r.headers };
}

// Print Playwright's error: its first line as the failed check, its call log as comments.
function failWith(what, e) {
  const msg = String((e && e.message) || e);
  const [first, ...rest] = msg.split('\n');
  check(`${what}: ${first}`, false);
  if (rest.length) note(rest.filter((l) => l.trim()).slice(0, 12).join('\n'));
}

// run(fn): the spec's body, fn(t), with t = {browser, page(label), noConsoleErrors, check,
// shot, ready, login, api, timing, note, world, env}; never returns (exits 0, or 1 on a
// failed check).
export async function run(fn) {
  const spec = path.basename(process.argv[1] || 'spec', '.mjs');
  const limit = Number(env.SPEC_TIMEOUT || 120);
  const guard = setTimeout(() => {
    check(`${spec} finished within ${limit} s (SPEC_TIMEOUT)`, false);
    process.exit(1);
  }, limit * 1000);
  let browser = null;
  try {
    if (!U) throw new Error('U is not set (the suite exports it: tests/integration/browser_lib.sh)');
    browser = await launch();
    const t = {
      browser, check, shot, ready, login, api, timing, note, noConsoleErrors, world, env,
      page: (label) => newPage(browser, label),
    };
    await fn(t);
  } catch (e) {
    failWith(`${spec} ran to its end`, e);
    for (const [i, p] of pages.entries()) {
      // the state the failure left, to look at (a closed page throws: ignored)
      await shot(p.page, `${spec}-failure-${i + 1}`).then(
        (f) => note(`failure screenshot of ${p.label}: ${f}`), () => {});
    }
  }
  for (const p of pages) {
    const list = troubles.get(p.page);
    if (!p.asked || list.length) noConsoleErrors(p.page, p.label);
  }
  if (browser) await browser.close().catch(() => {});
  clearTimeout(guard);
  note(`${spec}: ${counts.passed} passed, ${counts.failed} failed`);
  process.exit(counts.failed ? 1 : 0);
}
