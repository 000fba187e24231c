// html.js — the one place pages take Preact, its hooks and htm from: the npm package htm's
// single-module build (Preact + hooks + htm), served by allot server as /vendor/htm-preact.js
// (server/web.h). Pages write markup with html`<div class=${c}>…</div>`; no build step.
export {
  h,
  html,
  render,
  Component,
  createContext,
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
} from '/vendor/htm-preact.js';
