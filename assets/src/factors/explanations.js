/*
 * Rule explanations of factors (manifest.factors.explanations, factors/explanations.parquet;
 * docs/data-contract.md, "Explanations"): the rows by factor and layer, and where a rule holds in
 * a text or an image, each feature's label computed from tokens.parquet as the manifest's
 * `features` say.
 */
import { loadColumns } from '../core/data.js';

let rowsP = null;

/** Promise of null (a site built without explanations) or {section, at(f, l), peak(f), llm(f),
 * primary(f)}: rows as objects {factor, layer, peak, kind, text, score, one_token_score, explained,
 * rule (parsed or null), fuzzing_score}. at / peak: the rule rows; llm: the LLM's row of a factor
 * (its peak layer), if any; primary: the peak-layer explanation a factor is shown by, the LLM's when
 * its detection score beats the rule's (manifest explanations.primary), else the rule's. */
export function explanations(fs) {
  const section = fs && fs.explanations;
  if (!section || !section.file) return Promise.resolve(null);
  if (!rowsP) {
    rowsP = loadColumns(section.file).then((c) => {
      const byKey = new Map();
      const peaks = new Map();
      const llm = new Map();
      for (let i = 0; i < c.factor.length; i++) {
        const row = {
          factor: c.factor[i], layer: c.layer[i], peak: !!c.peak[i], text: c.text[i], kind: c.kind[i],
          score: c.score[i], one_token_score: c.one_token_score[i], explained: !!c.explained[i],
          rule: parseRule(c.rule[i]), one_token_text: c.one_token_text ? c.one_token_text[i] : null,
          fuzzing_score: c.fuzzing_score ? c.fuzzing_score[i] : null,
        };
        if (row.kind === 'llm') {
          llm.set(row.factor, row);
          continue;
        }
        byKey.set(row.factor + ',' + row.layer, row);
        if (row.peak) peaks.set(row.factor, row);
      }
      const peak = (f) => peaks.get(f) || null;
      return { section, at: (f, l) => byKey.get(f + ',' + l) || null, peak, llm: (f) => llm.get(f) || null,
        primary: (f) => primaryOf(peak(f), llm.get(f) || null) };
    });
    rowsP.catch(() => { rowsP = null; });
  }
  return rowsP;
}

const scored = (x) => x !== null && x !== undefined && !isNaN(x);

/** The LLM's row when its detection score is higher than the rule's (or the rule has none), else the rule's. */
function primaryOf(rule, llm) {
  if (!llm || !rule) return rule || llm;
  return scored(llm.score) && (!scored(rule.score) || llm.score > rule.score) ? llm : rule;
}

function parseRule(json) {
  if (!json) return null;
  try {
    const r = JSON.parse(json);
    return r && Array.isArray(r.all) ? r : null;
  } catch (e) {
    return null;
  }
}

const LETTER_OR_DIGIT = /^[\p{L}\p{N}]+$/u;
const HAS_LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/** A unit's text label: trimmed and lowercased (special tokens as written when the spec says). */
function textLabel(spec, tokens, j) {
  const raw = String(tokens[spec.column || 'text'][j]);
  if (tokens.is_special[j] && spec.special_as_written) return raw;
  let s = spec.trim ? raw.trim() : raw;
  if (spec.lowercase) s = s.toLowerCase();
  return s;
}

/** Image features: labels[number of cuts <= value] ("cuts"), or the hue's sector, "grey" below
 * grey_below saturation ("hue"). */
function patchLabel(spec, tokens, j) {
  const v = tokens[spec.column][j];
  if (spec.kind === 'cuts') {
    let b = 0;
    while (b < spec.cuts.length && spec.cuts[b] <= v) b++;
    return spec.labels[b];
  }
  if (tokens[spec.saturation_column][j] < spec.grey_below) return 'grey';
  return spec.sectors[((Math.floor(v * 6 + 0.5) % 6) + 6) % 6];
}

/** Labels (array over units start..end-1, null for none) of one feature of the text or image
 * [start, end), or undefined for a feature this page cannot compute. */
function featureLabels(spec, tokens, start, end) {
  const n = end - start;
  const out = new Array(n).fill(null);
  const special = (j) => !!tokens.is_special[j];
  const plain = (j) => String(tokens.text[j]).trim().toLowerCase();
  if (spec.kind === 'text') {
    const offset = spec.offset || 0;
    for (let i = start; i < end; i++) {
      const j = i + offset;
      if (j < start || j >= end) continue;
      if (spec.none_if_special && special(j)) continue;
      out[i - start] = textLabel(spec, tokens, j);
    }
  } else if (spec.kind === 'word') {
    let a = start;
    for (let i = start; i <= end; i++) {
      const joins = i < end && i > a && !tokens.space_before[i] && !special(i) && !special(i - 1) &&
        LETTER_OR_DIGIT.test(plain(i)) && LETTER_OR_DIGIT.test(plain(i - 1));
      if (joins) continue;
      if (i - a >= 2) {
        let word = '';
        for (let k = a; k < i; k++) word += plain(k);
        for (let k = a; k < i; k++) out[k - start] = word;
      }
      a = i;
    }
  } else if (spec.kind === 'first' || spec.kind === 'last') {
    const units = [];
    for (let i = start; i < end; i++) if (!special(i)) units.push(i);
    if (units.length) out[(spec.kind === 'first' ? units[0] : units[units.length - 1]) - start] = 'yes';
  } else if (spec.kind === 'after_punctuation') {
    for (let i = start + 1; i < end; i++) {
      const prev = plain(i - 1);
      if (!special(i - 1) && prev && !HAS_LETTER_OR_DIGIT.test(prev)) out[i - start] = 'yes';
    }
  } else if (spec.kind === 'cuts' || spec.kind === 'hue') {
    if (spec.none_when !== undefined && spec.none_when !== 'is_special') return undefined;
    for (let i = start; i < end; i++) {
      if (spec.none_when === 'is_special' && special(i)) continue;
      out[i - start] = patchLabel(spec, tokens, i);
    }
  } else {
    return undefined;
  }
  return out;
}

/** The columns of tokens.parquet the features read. */
export function featureColumns(features) {
  const cols = new Set(['is_special']);
  Object.keys(features || {}).forEach((name) => {
    const spec = features[name];
    if (spec.kind === 'cuts' || spec.kind === 'hue') cols.add(spec.column);
    else cols.add(spec.column || 'text');
    if (spec.saturation_column) cols.add(spec.saturation_column);
    if (spec.kind === 'word') cols.add('space_before');
  });
  return Array.from(cols);
}

let unitsP = null;

/** Promise of the columns of tokens.parquet the features read (image sites, whose pages do not
 * load the tokens table otherwise), loaded once, when a rule is first shown. */
export function featureUnits(features) {
  if (!unitsP) {
    unitsP = loadColumns('tokens.parquet', featureColumns(features));
    unitsP.catch(() => { unitsP = null; });
  }
  return unitsP;
}

/** The units of the text or image [start, end) where the rule holds: a Set of token indices, or null when
 * there is no rule or one of its features cannot be computed here. */
export function ruleMatches(rule, features, tokens, start, end) {
  if (!rule || !features || !rule.all.length) return null;
  const hold = new Array(end - start).fill(true);
  for (const cond of rule.all) {
    const spec = features[cond.feature];
    const labels = spec ? featureLabels(spec, tokens, start, end) : undefined;
    if (!labels) return null;
    const values = new Set(cond.values);
    labels.forEach((lab, k) => { if (lab === null || !values.has(lab)) hold[k] = false; });
  }
  const out = new Set();
  hold.forEach((h, k) => { if (h) out.add(start + k); });
  return out;
}

/** A score as two decimals ("–" when not scored). */
export const score = (x) => (x === null || x === undefined || isNaN(x) ? '–' : Number(x).toFixed(2));
