/*
 * Links between tokens and factors (issue 12), shared by the attention head view, the token
 * browser and the factor page. Reads manifest.attention.token_factors (the strongest factors of
 * each attention-sample token per hidden-state layer; layout in docs/data-contract.md) and
 * attention/sentences.parquet (sample row <-> token-browser text).
 */
import { el, loadBytes, loadColumns, manifest } from '../core/data.js';

let loaded = null;

/**
 * Promise of {
 *   sampleRow: Map(token-browser sentence_id -> attention sample row, i.e. attention-head.html?s=),
 *   nLayers: attention layers, nHidden: hidden-state layers (nLayers + 1; 0 = embeddings), top,
 *   at(hidden, sid, pos): [{factor, value}] strongest first, or null when the text is not in the sample,
 *   atSample(hidden, row, pos): the same for an attention sample row
 * } (at / atSample return null on a build without token factors).
 */
export function tokenFactors() {
  if (!loaded) loaded = manifest().then(build);
  return loaded;
}

function build(m) {
  const att = m.attention;
  const tf = att && att.token_factors;
  const out = {
    sampleRow: new Map(), nLayers: att ? att.model.n_layers : 0, nHidden: 0, top: 0,
    at: () => null, atSample: () => null,
  };
  if (!att || !att.files || !att.files.sentences) return out;
  return Promise.all([
    loadColumns(att.files.sentences, ['sentence_id', 'token_offset', 'n_tokens']),
    tf ? loadBytes(tf.file) : null,
  ]).then(([s, bytes]) => {
    if (s.sentence_id) for (let i = 0; i < s.sentence_id.length; i++) out.sampleRow.set(Number(s.sentence_id[i]), i);
    if (!bytes) return out;
    const packed = new Uint16Array(bytes);
    const top = tf.top;
    const nTok = att.n_tokens;
    out.top = top;
    out.nHidden = packed.length / (nTok * top * 2);
    out.atSample = (hidden, row, pos) => {
      if (row === undefined || row === null || pos >= s.n_tokens[row] || hidden < 0 || hidden >= out.nHidden) return null;
      const base = ((hidden * nTok + s.token_offset[row] + pos) * top) * 2;
      const list = [];
      for (let k = 0; k < top; k++) {
        const f = packed[base + 2 * k];
        if (f !== tf.missing) list.push({ factor: f, value: packed[base + 2 * k + 1] * tf.scale });
      }
      return list;
    };
    out.at = (hidden, sid, pos) => out.atSample(hidden, out.sampleRow.get(sid), pos);
    return out;
  });
}

/**
 * <span> of links "factor F (activation)" to factor.html at hidden-state layer ``hidden``;
 * options: empty (text without factors), label(x) (link text, default "factor F"), href(x), attrs(x)
 * (more attributes of each link; title: null drops the title).
 */
export function factorLinks(list, hidden, options = {}) {
  if (!list.length) return el('span', { class: 'muted' }, options.empty || 'no active factor');
  const label = options.label || ((x) => 'factor ' + x.factor);
  const href = options.href || ((x) => 'factor.html?f=' + x.factor + '&l=' + hidden);
  const span = el('span', { class: 'factor-links' });
  list.forEach((x, k) => {
    if (k) span.appendChild(document.createTextNode(' · '));
    span.appendChild(el('a', Object.assign({ href: href(x), title: 'activation ' + x.value }, options.attrs ? options.attrs(x) : {}), label(x)));
    span.appendChild(el('span', { class: 'muted' }, ' ' + x.value.toFixed(2)));
  });
  return span;
}
