/* Normalizers of the tokenizer (../tokenizer.js): ns -> ns, keeping every char's span. */
import { RE_MN, RE_OTHER, chain, filterChars, isChinese, isWhite, mapChars, unsupported } from './strings.js';

export function normalizer(spec) {
  if (!spec) return function (ns) { return ns; };
  switch (spec.type) {
    case 'Sequence': return chain(spec.normalizers.map(normalizer));
    case 'BertNormalizer':
      return function (ns) {
        if (spec.clean_text) {
          ns = filterChars(ns, function (c) {
            var cp = c.codePointAt(0);
            if (cp === 0 || cp === 0xFFFD) return false;
            if (c === '\t' || c === '\n' || c === '\r') return true;
            return !RE_OTHER.test(c);
          });
          ns = mapChars(ns, function (c) { return isWhite(c) ? ' ' : c; });
        }
        if (spec.handle_chinese_chars) {
          ns = mapChars(ns, function (c) { return isChinese(c.codePointAt(0)) ? ' ' + c + ' ' : c; });
        }
        var strip = spec.strip_accents === null || spec.strip_accents === undefined ? spec.lowercase : spec.strip_accents;
        if (strip) ns = stripAccents(nf(ns, 'NFD'));
        if (spec.lowercase) ns = mapChars(ns, lower);
        return ns;
      };
    case 'Lowercase': return function (ns) { return mapChars(ns, lower); };
    case 'NFC': case 'NFD': case 'NFKC': case 'NFKD':
      return function (ns) { return nf(ns, spec.type); };
    case 'StripAccents': return stripAccents;
    case 'Strip':
      return function (ns) {
        var lo = 0, hi = ns.length;
        if (spec.strip_left) while (lo < hi && isWhite(ns[lo].c)) lo++;
        if (spec.strip_right) while (hi > lo && isWhite(ns[hi - 1].c)) hi--;
        return ns.slice(lo, hi);
      };
    case 'Prepend':
      return function (ns) {
        if (!ns.length) return ns;
        return Array.from(spec.prepend).map(function (c) { return { c: c, a: ns[0].a }; }).concat(ns);
      };
    case 'Replace': {
      if (!spec.pattern || spec.pattern.String === undefined) throw unsupported('normalizer', { type: 'Replace (regex)' });
      var from = Array.from(spec.pattern.String), to = Array.from(spec.content);
      return function (ns) {
        if (!from.length) return ns;
        var out = [];
        for (var i = 0; i < ns.length;) {
          var hit = i + from.length <= ns.length;
          for (var k = 0; hit && k < from.length; k++) hit = ns[i + k].c === from[k];
          if (!hit) { out.push(ns[i]); i++; continue; }
          // the replacement takes the span of the first replaced char, grown to the last
          var a = [ns[i].a[0], ns[i + from.length - 1].a[1]];
          to.forEach(function (c) { out.push({ c: c, a: a }); });
          i += from.length;
        }
        return out;
      };
    }
    default: throw unsupported('normalizer', spec);
  }
}

function lower(c) { return c.toLowerCase(); }
function nf(ns, form) { return mapChars(ns, function (c) { return c.normalize(form); }); }
function stripAccents(ns) { return filterChars(ns, function (c) { return !RE_MN.test(c); }); }
