/* Post-processors of the tokenizer (../tokenizer.js). enc: {ids, tokens, offsets, special}; each
 * returns a new enc; added: tokens it adds. */
import { BYTE_CHAR, chain, isWhite, unsupported } from './strings.js';

export function postProcessor(spec) {
  if (!spec) return { added: 0, apply: function (e) { return e; } };
  switch (spec.type) {
    case 'Sequence': {
      var steps = spec.processors.map(postProcessor);
      return {
        added: steps.reduce(function (n, s) { return n + s.added; }, 0),
        apply: chain(steps.map(function (s) { return s.apply; })),
      };
    }
    case 'TemplateProcessing': {
      var added = 0;
      spec.single.forEach(function (item) {
        if (item.SpecialToken) added += spec.special_tokens[item.SpecialToken.id].ids.length;
      });
      return {
        added: added,
        apply: function (e) {
          var out = emptyEnc();
          spec.single.forEach(function (item) {
            if (item.Sequence) { appendEnc(out, e); return; }
            var st = spec.special_tokens[item.SpecialToken.id];
            st.ids.forEach(function (id, k) { pushSpecial(out, id, st.tokens[k]); });
          });
          return out;
        },
      };
    }
    case 'BertProcessing': case 'RobertaProcessing':
      return {
        added: 2,
        apply: function (e) {
          if (spec.type === 'RobertaProcessing' && spec.trim_offsets) e = trimOffsets(e, spec.add_prefix_space);
          var out = emptyEnc();
          pushSpecial(out, spec.cls[1], spec.cls[0]);
          appendEnc(out, e);
          pushSpecial(out, spec.sep[1], spec.sep[0]);
          return out;
        },
      };
    case 'ByteLevel':
      return { added: 0, apply: function (e) { return spec.trim_offsets ? trimOffsets(e, spec.add_prefix_space) : e; } };
    default: throw unsupported('post-processor', spec);
  }
}

export function emptyEnc() { return { ids: [], tokens: [], offsets: [], special: [] }; }
export function pushSpecial(enc, id, token) { enc.ids.push(id); enc.tokens.push(token); enc.offsets.push([0, 0]); enc.special.push(1); }
export function appendEnc(out, e) {
  for (var i = 0; i < e.ids.length; i++) {
    out.ids.push(e.ids[i]); out.tokens.push(e.tokens[i]); out.offsets.push(e.offsets[i]); out.special.push(e.special[i]);
  }
}

/** tokenizers' byte_level::process_offsets: leading / trailing 'Ġ' leave a token's span. */
function trimOffsets(e, addPrefixSpace) {
  var space = BYTE_CHAR[32];
  var offsets = e.offsets.map(function (o, i) {
    var chars = Array.from(e.tokens[i]), lead = 0, trail = 0;
    while (lead < chars.length && (chars[lead] === space || isWhite(chars[lead]))) lead++;
    while (trail < chars.length && (chars[chars.length - 1 - trail] === space || isWhite(chars[chars.length - 1 - trail]))) trail++;
    var s = o[0], t = o[1];
    if (lead > 0) {
      if ((i === 0 || s === 0) && addPrefixSpace && lead === 1) lead = 0;
      s = Math.min(s + lead, t);
    }
    if (trail > 0 && t >= trail) t = Math.max(t - trail, s);
    return [s, t];
  });
  return { ids: e.ids, tokens: e.tokens, offsets: offsets, special: e.special };
}
