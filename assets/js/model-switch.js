/*
 * model-switch.js: the model switcher in every page's header (templates/_model_switch.html,
 * generator/tfvis_site/pages/switcher.py). Each link's href is the other model's page for this
 * view without URL state (what works without JavaScript); just before the link is followed,
 * opened in a new tab or copied, this adds the current view's state that means the same in the
 * other model (data-keep: URL parameters) and sends a head the other model does not have
 * (?l=&h= outside data-layers x data-heads) to its matrix view (data-fallback) instead.
 *
 * Classic script with no dependencies (works from file:// and http); writes hrefs only.
 */
(function (window) {
  'use strict';

  var document = window.document;

  /** The view state: query string, then hash keys (#k=v&...), as TFVIS.query() reads them. */
  function viewState() {
    var state = new URLSearchParams(window.location.search);
    var hash = window.location.hash.replace(/^#/, '');
    if (hash.indexOf('=') !== -1) {
      new URLSearchParams(hash).forEach(function (value, key) {
        state.set(key, value);
      });
    }
    return state;
  }

  /** A missing index means 0, as on the head page. */
  function inRange(value, n) {
    var i = value === null ? 0 : Number(value);
    return Number.isInteger(i) && i >= 0 && i < n;
  }

  function target(a) {
    var state = viewState();
    var d = a.dataset;
    var page = d.page;
    var keep = d.keep;
    if (d.fallback && !(inRange(state.get('l'), Number(d.layers)) && inRange(state.get('h'), Number(d.heads)))) {
      page = d.fallback;
      keep = d.fallbackKeep;
    }
    var keys = keep ? keep.split(',') : [];
    var kept = new URLSearchParams();
    state.forEach(function (value, key) { // in the current URL's order
      if (keys.indexOf(key) !== -1) kept.set(key, value);
    });
    var query = kept.toString();
    return d.base + page + (query ? '?' + query : '');
  }

  function update(event) {
    event.currentTarget.setAttribute('href', target(event.currentTarget));
  }

  Array.prototype.forEach.call(document.querySelectorAll('.model-switch a.model-link'), function (a) {
    ['click', 'auxclick', 'contextmenu', 'focus', 'mouseenter'].forEach(function (type) {
      a.addEventListener(type, update);
    });
    a.addEventListener('touchstart', update, { passive: true });
  });
})(window);
