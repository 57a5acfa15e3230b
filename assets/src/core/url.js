/*
 * The view state in the URL: query() reads it, setQuery() writes it (no reload), onState()
 * listens to back / forward / a hand-edited hash.
 */

function parseParams(text, into) {
  new URLSearchParams(text).forEach((value, key) => {
    into[key] = value;
  });
  return into;
}

/**
 * Current view state: the query string, then the hash (#k=v&...), hash keys winning.
 * Values are strings; a bare "#anchor" is exposed as {"#": "anchor"}.
 */
export function query() {
  const state = parseParams(window.location.search, {});
  const hash = window.location.hash.replace(/^#/, '');
  if (hash) {
    if (hash.indexOf('=') === -1) state['#'] = decodeURIComponent(hash);
    else parseParams(hash, state);
  }
  return state;
}

let lastHref = null;

/**
 * Merge obj into the view state and write it to the URL query string (?k=v&...; pushState
 * works for same-file URLs on file:// too; the page is never reloaded). State that was in
 * the hash moves to the query; a bare "#anchor" is kept. null/undefined delete a key.
 * push=true adds a history entry (back button returns to the previous view), otherwise
 * the current entry is replaced. Returns the new state.
 */
export function setQuery(obj, push) {
  const state = query();
  const anchor = state['#'];
  delete state['#'];
  Object.keys(obj || {}).forEach((key) => {
    const value = obj[key];
    if (value === null || value === undefined) delete state[key];
    else state[key] = String(value);
  });
  const params = new URLSearchParams();
  Object.keys(state).forEach((key) => params.set(key, state[key]));
  const search = params.toString();
  const url = window.location.pathname + (search ? '?' + search : '') +
    (anchor !== undefined ? '#' + encodeURIComponent(anchor) : '');
  if (new URL(url, window.location.href).href !== window.location.href) {
    if (push) window.history.pushState(state, '', url);
    else window.history.replaceState(state, '', url);
  }
  lastHref = window.location.href;
  return query();
}

const stateListeners = [];

function notifyState() {
  if (window.location.href === lastHref) return; // popstate + hashchange fire together
  lastHref = window.location.href;
  const state = query();
  stateListeners.slice().forEach((fn) => {
    try {
      fn(state);
    } catch (err) {
      window.setTimeout(() => {
        throw err;
      });
    }
  });
}

/**
 * Call fn(state) whenever the view state changes by navigation (back/forward buttons,
 * a hand-edited hash); not for setQuery() calls. Returns an unsubscribe function.
 */
export function onState(fn) {
  if (lastHref === null) lastHref = window.location.href;
  if (!stateListeners.length) {
    window.addEventListener('popstate', notifyState);
    window.addEventListener('hashchange', notifyState);
  }
  stateListeners.push(fn);
  return () => {
    const i = stateListeners.indexOf(fn);
    if (i !== -1) stateListeners.splice(i, 1);
  };
}
