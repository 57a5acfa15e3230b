/* Models of the tokenizer (../tokenizer.js): word (chars) -> [{id, value, lo, hi}], lo, hi: the
 * token's chars in the word. */
import { unsupported, utf8 } from './strings.js';

export function model(spec) {
  var vocab = new Map(Object.keys(spec.vocab).map(function (k) { return [k, spec.vocab[k]]; }));
  var unk = spec.unk_token;
  var unkId = unk !== null && unk !== undefined && vocab.has(unk) ? vocab.get(unk) : null;
  if (spec.type === 'WordPiece') {
    var prefix = spec.continuing_subword_prefix === undefined ? '##' : spec.continuing_subword_prefix;
    var maxChars = spec.max_input_chars_per_word || 100;
    return {
      vocab: vocab,
      tokenize: function (chars) {
        var unkTok = [{ id: unkId, value: unk, lo: 0, hi: chars.length }];
        if (chars.length > maxChars) return unkTok;
        var out = [], start = 0;
        while (start < chars.length) {
          var end = chars.length, found = null;
          while (start < end) {
            var sub = chars.slice(start, end).join('');
            if (start > 0) sub = prefix + sub;
            if (vocab.has(sub)) { found = { id: vocab.get(sub), value: sub, lo: start, hi: end }; break; }
            end--;
          }
          if (!found) return unkTok;
          out.push(found);
          start = end;
        }
        return out;
      },
    };
  }
  if (spec.type === 'BPE') {
    var ranks = new Map();
    (spec.merges || []).forEach(function (m, r) {
      ranks.set(Array.isArray(m) ? m[0] + ' ' + m[1] : m, r);
    });
    var cache = new Map();
    var cont = spec.continuing_subword_prefix || '', suffix = spec.end_of_word_suffix || '';
    return {
      vocab: vocab,
      tokenize: function (chars) {
        var word = chars.join('');
        if (spec.ignore_merges && vocab.has(word)) return [{ id: vocab.get(word), value: word, lo: 0, hi: chars.length }];
        var hit = cache.get(word);
        if (hit) return hit;
        // symbols: [string, lo, hi]
        var sym = chars.map(function (c, i) {
          var s = (i > 0 ? cont : '') + c + (i === chars.length - 1 ? suffix : '');
          return [s, i, i + 1];
        });
        for (;;) {
          var best = Infinity;
          for (var i = 0; i + 1 < sym.length; i++) {
            var r = ranks.get(sym[i][0] + ' ' + sym[i + 1][0]);
            if (r !== undefined && r < best) best = r;
          }
          if (best === Infinity) break;
          var merged = [];
          for (var j = 0; j < sym.length; j++) {
            if (j + 1 < sym.length && ranks.get(sym[j][0] + ' ' + sym[j + 1][0]) === best) {
              var right = sym[j + 1][0];
              if (cont && right.indexOf(cont) === 0) right = right.slice(cont.length);
              merged.push([sym[j][0] + right, sym[j][1], sym[j + 1][2]]);
              j++;
            } else {
              merged.push(sym[j]);
            }
          }
          sym = merged;
        }
        var out = [];
        sym.forEach(function (s) {
          if (vocab.has(s[0])) { out.push({ id: vocab.get(s[0]), value: s[0], lo: s[1], hi: s[2] }); return; }
          if (spec.byte_fallback) {
            var bytes = utf8.encode(s[0]), all = [];
            for (var b = 0; b < bytes.length; b++) {
              var name = '<0x' + (bytes[b] < 16 ? '0' : '') + bytes[b].toString(16).toUpperCase() + '>';
              if (!vocab.has(name)) { all = null; break; }
              all.push({ id: vocab.get(name), value: name, lo: s[1], hi: s[2] });
            }
            if (all) { all.forEach(function (t) { out.push(t); }); return; }
          }
          if (unkId !== null) {
            var prev = out[out.length - 1];
            if (spec.fuse_unk && prev && prev.id === unkId) prev.hi = s[2];
            else out.push({ id: unkId, value: unk, lo: s[1], hi: s[2] });
          }
        });
        if (cache.size < 50000) cache.set(word, out);
        return out;
      },
    };
  }
  throw unsupported('model', spec);
}
