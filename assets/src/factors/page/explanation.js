/* The factor page's explanation (factors/explanations.js): the rule of the layer shown (or of the
 * peak layer, said so), its detection score beside the one-token score, and page.rule, which the
 * contexts read to outline the tokens (text) or patches (images) where the rule holds. */
import { clear, el } from '../../core/data.js';
import { featureUnits, ruleMatches, score } from '../explanations.js';
import { $, page } from './context.js';

export function renderExplanation(f, l, ex) {
  const box = $('fexplain');
  page.rule = null;
  if (!box) return;
  clear(box);
  if (!ex) {
    box.appendChild(el('span', { class: 'muted' }, 'This site was built without explanations.'));
    return;
  }
  const here = ex.at(f, l);
  const row = here || ex.peak(f);
  if (!row) {
    box.appendChild(el('span', { class: 'muted' }, 'No explanation of this factor.'));
    return;
  }
  const where = here ? 'at layer ' + l : 'at its peak layer ' + row.layer + ' (layer ' + l + ' is not explained)';
  box.dataset.layer = String(row.layer);
  box.appendChild(el('span', { class: 'fx-label' }, 'Explanation ' + where + ': '));
  box.appendChild(el('span', { class: 'fx-text' + (row.explained ? '' : ' muted') }, row.text));
  if (row.score !== null && row.score !== undefined) {
    const thr = ex.section.thresholds || {};
    const adds = row.score - row.one_token_score;
    box.appendChild(el('span', { class: 'fx-scores' },
      el('span', { class: 'fx-score', dataset: { value: String(row.score) },
        title: 'Balanced accuracy of "the rule holds" predicting "active" on held-out contexts (0.5 = chance, 1 = perfect)' +
          (thr.explained !== undefined ? '; explained at ≥ ' + score(thr.explained) : '') },
      'detection score ' + score(row.score)),
      el('span', { class: 'fx-one', dataset: { value: String(row.one_token_score) },
        title: 'The same for the best rule that reads the token alone' + (row.one_token_text ? ': ' + row.one_token_text : '') },
      'one token alone ' + score(row.one_token_score)),
      el('span', { class: 'fx-adds muted' }, 'context adds ' + (adds >= 0 ? '+' : '−') + Math.abs(adds).toFixed(2))));
  }
  renderLLM(box, ex, f);
  const features = ex.section.features;
  if (row.rule && row.explained) {
    page.rule = { rule: row.rule, features, layer: row.layer, text: row.text, tokens: null };
    box.appendChild(el('span', { class: 'fx-legend muted small' }, page.geo
      ? [el('span', { class: 'rule-swatch', 'aria-hidden': 'true' }), ' dashed outlines on the images below: the patches where the rule holds']
      : [el('span', { class: 'ctok rule' }, 'outlined'), ' tokens in the contexts below are where the rule holds']));
  }
}

/** The LLM's explanation of factor f (its peak layer), when the site has one, on a line of its own
 * below the rule's, with its detection and fuzzing scores; "primary" when the factor is shown by it. */
function renderLLM(box, ex, f) {
  const row = ex.llm(f);
  if (!row) return;
  const info = ex.section.llm || {};
  const primary = ex.primary(f) === row;
  box.appendChild(el('span', { class: 'fx-llm', dataset: { primary: String(primary) } },
    el('span', { class: 'fx-label' }, 'LLM explanation at layer ' + row.layer + (info.model ? ' (' + info.model + ')' : '') + ': '),
    el('span', { class: 'fx-text' + (row.explained ? '' : ' muted') }, row.text),
    el('span', { class: 'fx-scores' },
      el('span', { class: 'fx-score', dataset: { value: String(row.score) },
        title: 'Balanced accuracy of the LLM, told this explanation, telling held-out activating contexts from non-activating ones' },
      'detection score ' + score(row.score)),
      el('span', { class: 'fx-fuzz', dataset: { value: String(row.fuzzing_score) },
        title: 'Balanced accuracy of the LLM, told this explanation, telling truly marked active tokens from tokens marked at random' },
      'fuzzing score ' + score(row.fuzzing_score)),
      primary ? el('span', { class: 'fx-primary muted' }, 'scores above the rule: the factor index shows it') : null)));
}

/** Image sites: the promise that page.rule has the tokens.parquet columns its features read. */
export function ruleUnitsLoaded() {
  const r = page.rule;
  if (!r || !page.geo || r.tokens) return null;
  return featureUnits(r.features).then((t) => { r.tokens = t; });
}

/** The tokens of text (or units of image) [start, end) where the current rule holds (a Set), or null. */
export function ruleHolds(start, end) {
  const r = page.rule;
  const tokens = r && (r.tokens || page.tokens);
  return tokens ? ruleMatches(r.rule, r.features, tokens, start, end) : null;
}
