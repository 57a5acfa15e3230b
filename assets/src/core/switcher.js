/*
 * The model switcher in every page's header (templates/_model_switch.html,
 * generator/tfvis_site/site/pages/switcher.py). Each link's href is the other model's page for this
 * view without URL state (what works without JavaScript); just before the link is followed,
 * opened in a new tab or copied, this adds the current view's state that means the same in the
 * other model (data-keep: URL parameters) and sends a head the other model does not have
 * (?l=&h= outside data-layers x data-heads) to its matrix view (data-fallback) instead.
 */
import { query } from './url.js';

/** A missing index means 0, as on the head page. */
function inRange(value, n) {
  const i = value === undefined ? 0 : Number(value);
  return Number.isInteger(i) && i >= 0 && i < n;
}

function target(a) {
  const state = query();
  const d = a.dataset;
  let page = d.page;
  let keep = d.keep;
  if (d.fallback && !(inRange(state.l, Number(d.layers)) && inRange(state.h, Number(d.heads)))) {
    page = d.fallback;
    keep = d.fallbackKeep;
  }
  const keys = keep ? keep.split(',') : [];
  const kept = new URLSearchParams();
  Object.keys(state).forEach((key) => { // in the current URL's order
    if (keys.indexOf(key) !== -1) kept.set(key, state[key]);
  });
  const search = kept.toString();
  return d.base + page + (search ? '?' + search : '');
}

function update(event) {
  event.currentTarget.setAttribute('href', target(event.currentTarget));
}

/** Wire the header's model links (none on a one-model site). */
export function initSwitcher() {
  document.querySelectorAll('.model-switch a.model-link').forEach((a) => {
    ['click', 'auxclick', 'contextmenu', 'focus', 'mouseenter'].forEach((type) => a.addEventListener(type, update));
    a.addEventListener('touchstart', update, { passive: true });
  });
}
