/* Pre-tokenizers of the tokenizer (../tokenizer.js): [ns] -> [ns]. */
import { GPT2_SPLIT, chain, isBertPunct, isDigit, isWhite, keepMatches, mapChars, splitBy, toByteChars, unsupported } from './strings.js';

export function preTokenizer(spec) {
  if (!spec) return function (splits) { return splits; };
  var each = function (fn) {
    return function (splits) {
      var out = [];
      splits.forEach(function (ns) { fn(ns).forEach(function (p) { out.push(p); }); });
      return out;
    };
  };
  switch (spec.type) {
    case 'Sequence': return chain(spec.pretokenizers.map(preTokenizer));
    case 'BertPreTokenizer':
      return function (splits) {
        return each(function (ns) { return splitBy(ns, isBertPunct, 'Isolated'); })(
          each(function (ns) { return splitBy(ns, isWhite, 'Removed'); })(splits));
      };
    case 'WhitespaceSplit': return each(function (ns) { return splitBy(ns, isWhite, 'Removed'); });
    case 'Whitespace': {
      var word = /[\p{L}\p{N}\p{M}\p{Pc}]+|[^\p{L}\p{N}\p{M}\p{Pc}\p{White_Space}]+/gu;
      return each(function (ns) { return keepMatches(ns, word); });
    }
    case 'Punctuation':
      return each(function (ns) { return splitBy(ns, isBertPunct, spec.behavior || 'Isolated'); });
    case 'Digits':
      return each(function (ns) {
        return spec.individual_digits ? splitBy(ns, isDigit, 'Isolated') : splitBy(ns, /\p{Nd}+/gu, 'Isolated');
      });
    case 'Split': {
      var pattern = spec.pattern.Regex !== undefined ? new RegExp(spec.pattern.Regex, 'gu')
        : new RegExp(spec.pattern.String.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu');
      return each(function (ns) {
        if (spec.invert) return keepMatches(ns, pattern, spec.behavior);
        return splitBy(ns, pattern, spec.behavior);
      });
    }
    case 'ByteLevel':
      return each(function (ns) {
        if (spec.add_prefix_space && ns.length && ns[0].c !== ' ') ns = [{ c: ' ', a: ns[0].a }].concat(ns);
        var parts = spec.use_regex === false ? [ns] : splitBy(ns, GPT2_SPLIT, 'Isolated');
        return parts.map(toByteChars);
      });
    case 'Metaspace': {
      var rep = spec.replacement || '\u2581';
      var scheme = spec.prepend_scheme || (spec.add_prefix_space === false ? 'never' : 'always');
      return function (splits) {
        var out = [];
        splits.forEach(function (ns, k) {
          ns = mapChars(ns, function (c) { return c === ' ' ? rep : c; });
          if (ns.length && ns[0].c !== rep && (scheme === 'always' || (scheme === 'first' && k === 0))) {
            ns = [{ c: rep, a: ns[0].a }].concat(ns);
          }
          (spec.split === false ? [ns] : splitBy(ns, function (c) { return c === rep; }, 'MergedWithNext'))
            .forEach(function (p) { out.push(p); });
        });
        return out;
      };
    }
    default: throw unsupported('pre-tokenizer', spec);
  }
}
