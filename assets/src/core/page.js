/*
 * What every page entry (assets/src/pages/<template>.js) starts with: the header's model
 * switcher, then the page's own start function. A page bundle is a classic script at the end of
 * <body>, so the DOM is there when it runs.
 */
import { initSwitcher } from './switcher.js';

/** Run the page: `start()` may return a promise; what it throws is logged, not swallowed. */
export function startPage(start) {
  initSwitcher();
  if (!start) return;
  Promise.resolve().then(start).catch((err) => {
    if (window.console) window.console.error(err);
  });
}
