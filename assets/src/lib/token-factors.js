/*
 * Links between tokens and factors (issue 12), shared by the attention head view, the token
 * browser and the factor page (layouts in docs/data-contract.md):
 * - tokenFactors(): manifest.attention.token_factors, the strongest factors of each
 *   attention-sample token per hidden-state layer, and attention/sentences.parquet (sample row <->
 *   token-browser text);
 * - siteTokenFactors(): manifest.factors.token_factors, the same for every token of the site
 *   (builds since the factor stage's result version 2; several MB on a large site, so it is
 *   loaded on the first call only, and once).
 */
import { el, loadBytes, loadColumns, manifest } from '../core/data.js';

let sample = null;
let loaded = null;
let site = null;

/** Promise of {sampleRow: Map(token-browser sentence_id -> attention sample row), nLayers:
 * attention layers, s: the sample's sentences (token_offset, n_tokens)}: which texts the
 * attention pages show, without their token factors. */
export function attentionSample() {
  if (!sample) sample = manifest().then(readSample);
  return sample;
}

function readSample(m) {
  const att = m.attention;
  const out = { sampleRow: new Map(), nLayers: att ? att.model.n_layers : 0, s: null };
  if (!att || !att.files || !att.files.sentences) return out;
  return loadColumns(att.files.sentences, ['sentence_id', 'token_offset', 'n_tokens']).then((s) => {
    if (s.sentence_id) for (let i = 0; i < s.sentence_id.length; i++) out.sampleRow.set(Number(s.sentence_id[i]), i);
    out.s = s;
    return out;
  });
}

/** (hidden, token row) -> [{factor, value}] strongest first, from a token_factors file: uint16
 * (nHidden, nTok, top, 2) = (factor id or tf.missing, activation / tf.scale). */
function decoder(bytes, tf, nTok) {
  const packed = new Uint16Array(bytes);
  const top = tf.top;
  const nHidden = packed.length / (nTok * top * 2);
  const atRow = (hidden, row) => {
    const list = [];
    const base = ((hidden * nTok + row) * top) * 2;
    for (let k = 0; k < top; k++) {
      const f = packed[base + 2 * k];
      if (f !== tf.missing) list.push({ factor: f, value: packed[base + 2 * k + 1] * tf.scale });
    }
    return list;
  };
  return { nHidden, top, atRow };
}

/**
 * Promise of {
 *   sampleRow: Map(token-browser sentence_id -> attention sample row, i.e. attention-head.html?s=),
 *   nLayers: attention layers, nHidden: hidden-state layers (nLayers + 1; 0 = embeddings), top,
 *   at(hidden, sid, pos): [{factor, value}] strongest first, or null when the text is not in the sample,
 *   atSample(hidden, row, pos): the same for an attention sample row
 * } (at / atSample return null on a build without token factors).
 */
export function tokenFactors() {
  if (!loaded) loaded = Promise.all([manifest(), attentionSample()]).then(build);
  return loaded;
}

function build([m, sampled]) {
  const tf = m.attention && m.attention.token_factors;
  const { sampleRow, nLayers, s } = sampled;
  const out = { sampleRow, nLayers, nHidden: 0, top: 0, at: () => null, atSample: () => null };
  if (!s || !tf) return out;
  return loadBytes(tf.file).then((bytes) => {
    const d = decoder(bytes, tf, m.attention.n_tokens);
    out.top = d.top;
    out.nHidden = d.nHidden;
    out.atSample = (hidden, row, pos) => {
      if (row === undefined || row === null || pos >= s.n_tokens[row] || hidden < 0 || hidden >= out.nHidden) return null;
      return d.atRow(hidden, s.token_offset[row] + pos);
    };
    out.at = (hidden, sid, pos) => out.atSample(hidden, out.sampleRow.get(sid), pos);
    return out;
  });
}

/** The download size in bytes of the site's token-factor file (manifest.factors.token_factors:
 * its .js twin, what ships), or null when the build has none (then tokenFactors() covers the
 * attention sample only). */
export function siteTokenFactorBytes(m) {
  const tf = m.factors && m.factors.token_factors;
  if (!tf) return null;
  const entry = m.files && m.files[tf.file];
  return entry ? entry.twin_bytes || entry.bytes || 0 : 0;
}

/**
 * Promise of {nHidden, top, at(hidden, sid, pos): [{factor, value}] strongest first, null out of
 * range} for every token of the site (factors/token_factors.u16, token = row of tokens.parquet),
 * or of null on a build without it. Loads the file on the first call only.
 */
export function siteTokenFactors() {
  if (!site) {
    site = manifest().then((m) => {
      const tf = m.factors && m.factors.token_factors;
      if (!tf) return null;
      return Promise.all([loadColumns('sentences.parquet', ['token_offset', 'n_tokens']), loadBytes(tf.file)]).then(([s, bytes]) => {
        const nTok = s.n_tokens.length ? Number(s.token_offset[s.n_tokens.length - 1]) + s.n_tokens[s.n_tokens.length - 1] : 0;
        const d = decoder(bytes, tf, nTok);
        const at = (hidden, sid, pos) => {
          if (!(sid >= 0 && sid < s.n_tokens.length) || !(pos >= 0 && pos < s.n_tokens[sid]) || !(hidden >= 0 && hidden < d.nHidden)) return null;
          return d.atRow(hidden, Number(s.token_offset[sid]) + pos);
        };
        return { nHidden: d.nHidden, top: d.top, at };
      });
    });
    site.catch(() => { site = null; });
  }
  return site;
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
