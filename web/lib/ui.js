// ui.js — what the pages share: money and time in words, the API's errors shown next to
// what caused them, a list that renders only its visible rows (80,000 GPUs must not mean
// 80,000 DOM nodes), polling and the live event stream, and server documents made printable.
import { html, useEffect, useRef, useState } from './html.js';
import { token } from './api.js';

const moneyFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

// Micro-units (int64 on the server; exact in a JS number below 2^53 micros = 9 billion) as
// "1,234.56". Rounds to the cent for display only; computations stay on the server.
export function money(micros) {
  if (micros === null || micros === undefined) return '—';
  return moneyFmt.format(Number(micros) / 1e6);
}

// An RFC 3339 time (or unix seconds) as "2026-12-07 10:30 UTC".
export function when(t) {
  if (t === null || t === undefined || t === '') return '—';
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

// Seconds as "3d 4h", "2h 5m", "45s".
export function dur(s) {
  if (s === null || s === undefined) return '—';
  s = Math.round(Number(s));
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return h ? `${d}d ${h}h` : `${d}d`;
  if (h) return m ? `${h}h ${m}m` : `${h}h`;
  return `${m}m`;
}

// The API's error for `field`, next to that input: shown only when err names it.
export function ErrorText({ err, field }) {
  if (!err || err.name === 'AbortError' || (err.field || '') !== field) return null;
  return html`<p class="error" data-field=${field} role="alert">${err.message}</p>`;
}

// The error of a whole form, or of a field the form has no input for.
export function FormError({ err, fields = [] }) {
  if (!err || err.name === 'AbortError' || (err.field && fields.includes(err.field))) return null;
  return html`<p class="error" data-field=${err.field || ''} role="alert">
    ${err.message}${err.field ? html` <span class="muted">(${err.field})</span>` : ''}
  </p>`;
}

export function Busy({ what = 'Loading' }) {
  return html`<p class="busy" aria-live="polite">${what}…</p>`;
}

export function Badge({ state }) {
  return html`<span class=${`badge badge-${String(state).replace(/[^a-z_]/gi, '')}`}>${state}</span>`;
}

// A scrolling list of `items`, each `rowHeight` px tall, that puts in the DOM only the rows in
// view (and a few more either side). render(item, index) returns one row's markup.
export function VirtualList({ items, rowHeight = 32, height = 480, render, header, label }) {
  const box = useRef(null);
  const [top, setTop] = useState(0);
  const over = 8;
  const first = Math.max(0, Math.floor(top / rowHeight) - over);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + over);
  const rows = [];
  for (let i = first; i < last; i++) {
    rows.push(html`<div class="vrow" role="row" style=${{ transform: `translateY(${i * rowHeight}px)`, height: `${rowHeight}px` }}
      key=${i}>${render(items[i], i)}</div>`);
  }
  return html`<div class="vlist" role="table" aria-label=${label} aria-rowcount=${items.length}>
    ${header ? html`<div class="vhead" role="row">${header}</div>` : null}
    <div class="vbox" ref=${box} tabindex="0" style=${{ height: `${height}px` }}
      onScroll=${(e) => setTop(e.currentTarget.scrollTop)}>
      <div class="vspace" style=${{ height: `${items.length * rowHeight}px` }}>${rows}</div>
    </div>
  </div>`;
}

// Call fn now and every `ms` while the page shows (skipped while the tab is hidden); fn gets an
// AbortSignal. Returns nothing: fn sets the page's state.
export function usePoll(fn, ms, deps = []) {
  useEffect(() => {
    let ctl = new AbortController();
    const tick = () => {
      if (document.hidden) return;
      ctl.abort();
      ctl = new AbortController();
      fn(ctl.signal);
    };
    tick();
    const id = setInterval(tick, ms);
    return () => {
      clearInterval(id);
      ctl.abort();
    };
  }, deps);
}

// The live event stream (GET /v1/events?follow=1, server-sent events), one per tab whatever
// the pages on it listen to (the server serves 64 streams in all), read with fetch since
// EventSource cannot send the Authorization header; it reconnects after a drop from the last
// id seen, and closes when no page listens.
const subscribers = new Set();
let stream = null;

function matches(ev, f) {
  if (f.object && ev.object !== f.object) return false;
  if (!f.kind || f.kind === '*') return true;
  return f.kind.endsWith('.') || f.kind.endsWith('*') ? ev.kind.startsWith(f.kind.replace(/\*$/, '')) : ev.kind === f.kind;
}

function dispatch(st, block) {
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('id:')) st.last = line.slice(3).trim();
    else if (line.startsWith('data:')) data += line.slice(5).trim();
  }
  if (!data) return;
  let ev;
  try {
    ev = JSON.parse(data);
  } catch {
    return; /* a malformed event is skipped, the stream goes on */
  }
  subscribers.forEach((s) => matches(ev, s.filter) && s.cb.current(ev));
}

async function streamLoop(st) {
  while (!st.ctl.signal.aborted) {
    const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${token()}` };
    if (st.last) headers['Last-Event-ID'] = st.last;
    try {
      const res = await fetch('/v1/events?follow=1', { headers, signal: st.ctl.signal, cache: 'no-store' });
      if (!res.ok || !res.body) throw new Error(`the stream answered ${res.status}`);
      st.live = true;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let at;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          dispatch(st, buf.slice(0, at));
          buf = buf.slice(at + 2);
        }
      }
    } catch {
      /* dropped, refused (503: too many streams) or aborted: wait, then again */
    }
    st.live = false;
    if (!st.ctl.signal.aborted) await new Promise((r) => setTimeout(r, 2000));
  }
}

// cb(event) for each new event matching filter {kind (a name or a prefix "reservation."),
// object}; the event is GET /v1/events' item. Returns nothing; stops with the component.
export function useEvents(cb, filter = {}, deps = []) {
  const cbRef = useRef(cb);
  cbRef.current = cb;
  useEffect(() => {
    const sub = { cb: cbRef, filter };
    subscribers.add(sub);
    if (!stream) {
      stream = { ctl: new AbortController(), last: null, live: false };
      streamLoop(stream);
    }
    return () => {
      subscribers.delete(sub);
      if (!subscribers.size && stream) {
        stream.ctl.abort();
        stream = null;
      }
    };
  }, deps);
}

// A server document (quote, contract, invoice: GET …/document, HTML) shown inside the page:
// parsed with DOMParser and its body's nodes imported (its own <style> is dropped: the page's
// CSP allows no inline style; app.css styles .doc), with a Print button; @media print shows
// only the document.
export function Printable({ doc, title }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current) return;
    // the document's own <style> goes before parsing: Chromium reports a parsed inline style
    // as a CSP violation even in an inert document
    const text = String(doc || '').replace(/<style[\s\S]*?<\/style>/gi, '');
    const parsed = new DOMParser().parseFromString(text, 'text/html');
    parsed.querySelectorAll('script, style, link, iframe, object, embed').forEach((n) => n.remove());
    box.current.replaceChildren(...Array.from(parsed.body.childNodes, (n) => document.importNode(n, true)));
  }, [doc]);
  return html`<section class="printable" aria-label=${title}>
    <div class="toolbar noprint"><button data-action="print" onClick=${() => window.print()}>Print</button></div>
    <div class="doc" ref=${box}></div>
  </section>`;
}

// A labelled input bound to form[name]; the API's error for `name` shows beneath it.
export function Field({ label, name, form, set, err, type = 'text', hint, ...rest }) {
  return html`<label class="field">
    <span>${label}</span>
    <input name=${name} type=${type} value=${form[name] ?? ''} aria-invalid=${err && err.field === name ? 'true' : 'false'}
      onInput=${(e) => set({ ...form, [name]: e.currentTarget.value })} ...${rest} />
    ${hint ? html`<small class="muted">${hint}</small>` : null}
    <${ErrorText} err=${err} field=${name} />
  </label>`;
}
