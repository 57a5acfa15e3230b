/* Normalised strings of the tokenizer (see ../tokenizer.js): lists of {c: one code point, a: [start,
 * end) in the original text}, their splits with tokenizers' behaviours, GPT-2's byte chars. */

var RE_WHITE = /^\p{White_Space}$/u;
export var RE_MN = /^\p{Mn}$/u;
export var RE_OTHER = /^\p{C}$/u; // Cc Cf Cs Co Cn: Rust's char::is_other
var RE_PUNCT = /^\p{P}$/u;
var ASCII_PUNCT = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
// GPT-2's split (tokenizers' ByteLevel pre-tokenizer), \s as Unicode White_Space like Oniguruma.
export var GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

export function isWhite(c) { return RE_WHITE.test(c); }
export function isBertPunct(c) { return ASCII_PUNCT.indexOf(c) !== -1 || RE_PUNCT.test(c); }
export function isChinese(cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
    (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
    (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// ------------------------------------------------------------ normalised strings
// ns: array of {c, a}; c one code point, a = [start, end) in code points of the original text.

/** Map every char through fn(c) -> string; the chars it produces all keep c's span. */
export function mapChars(ns, fn) {
  var out = [];
  for (var i = 0; i < ns.length; i++) {
    var parts = Array.from(fn(ns[i].c));
    for (var j = 0; j < parts.length; j++) out.push({ c: parts[j], a: ns[i].a });
  }
  return out;
}
export function filterChars(ns, keep) { return ns.filter(function (x) { return keep(x.c); }); }
export function text(ns) { var s = ''; for (var i = 0; i < ns.length; i++) s += ns[i].c; return s; }
export function span(ns, lo, hi) { return [ns[lo].a[0], ns[hi - 1].a[1]]; }

/** ns -> list of ns pieces per a char predicate or regex matches, with tokenizers' split behaviours. */
export function splitBy(ns, isMatch, behavior) {
  var ranges = [];   // [lo, hi, matched]
  if (typeof isMatch === 'function') {
    var lo = 0;
    for (var i = 0; i < ns.length; i++) {
      if (isMatch(ns[i].c)) {
        if (i > lo) ranges.push([lo, i, false]);
        ranges.push([i, i + 1, true]);
        lo = i + 1;
      }
    }
    if (lo < ns.length) ranges.push([lo, ns.length, false]);
  } else {
    ranges = regexRanges(ns, isMatch);
  }
  return applyBehavior(ns, ranges, behavior);
}

/** Ranges (in chars) of a global regex's matches and the gaps between them. */
export function regexRanges(ns, re) {
  var s = text(ns), unitToChar = new Int32Array(s.length + 1), u = 0;
  for (var i = 0; i < ns.length; i++) { unitToChar[u] = i; u += ns[i].c.length; }
  unitToChar[u] = ns.length;
  var ranges = [], last = 0, m;
  re.lastIndex = 0;
  while ((m = re.exec(s)) !== null) {
    if (m[0].length === 0) { re.lastIndex++; continue; }
    var a = unitToChar[m.index], b = unitToChar[m.index + m[0].length];
    if (a > last) ranges.push([last, a, false]);
    ranges.push([a, b, true]);
    last = b;
  }
  if (last < ns.length) ranges.push([last, ns.length, false]);
  return ranges;
}

export function applyBehavior(ns, ranges, behavior) {
  var pieces = [], i, r;
  if (behavior === 'Removed') {
    for (i = 0; i < ranges.length; i++) if (!ranges[i][2]) pieces.push([ranges[i][0], ranges[i][1]]);
  } else if (behavior === 'Isolated') {
    pieces = ranges.map(function (x) { return [x[0], x[1]]; });
  } else if (behavior === 'MergedWithPrevious') {
    for (i = 0; i < ranges.length; i++) {
      r = ranges[i];
      if (r[2] && pieces.length && !ranges[i - 1][2]) pieces[pieces.length - 1][1] = r[1];
      else pieces.push([r[0], r[1]]);
    }
  } else if (behavior === 'MergedWithNext') {
    var pending = null;
    for (i = 0; i < ranges.length; i++) {
      r = ranges[i];
      if (r[2]) {
        if (pending !== null) pieces.push([pending, r[0]]);
        pending = r[0];
      } else {
        pieces.push([pending !== null ? pending : r[0], r[1]]);
        pending = null;
      }
    }
    if (pending !== null) pieces.push([pending, ns.length]);
  } else if (behavior === 'Contiguous') {
    for (i = 0; i < ranges.length; i++) {
      r = ranges[i];
      if (r[2] && i > 0 && ranges[i - 1][2]) pieces[pieces.length - 1][1] = r[1];
      else pieces.push([r[0], r[1]]);
    }
  } else {
    throw new Error('unsupported split behaviour ' + behavior);
  }
  return pieces.filter(function (p) { return p[1] > p[0]; }).map(function (p) { return ns.slice(p[0], p[1]); });
}

/** The steps one after the other: x -> steps[n-1](...steps[0](x)) (tokenizers' Sequence). */
export function chain(steps) {
  return function (x) { return steps.reduce(function (acc, f) { return f(acc); }, x); };
}

export function unsupported(kind, spec) {
  return new Error('unsupported tokenizer ' + kind + ' "' + (spec && spec.type) + '"');
}

export function isDigit(c) { return /^\p{Nd}$/u.test(c); }

/** Keep only a regex's matches (tokenizers' Split with invert / Whitespace). */
export function keepMatches(ns, re, behavior) {
  var ranges = regexRanges(ns, re).map(function (r) { return [r[0], r[1], !r[2]]; });
  return applyBehavior(ns, ranges, behavior || 'Removed');
}

// GPT-2's bytes <-> printable unicode chars.
export var BYTE_CHAR = (function () {
  var table = new Array(256), n = 0;
  for (var b = 0; b < 256; b++) {
    var printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return table;
})();
export var utf8 = new TextEncoder();

/** Each char -> one printable char per UTF-8 byte, all with the char's span. */
export function toByteChars(ns) {
  var out = [];
  for (var i = 0; i < ns.length; i++) {
    var bytes = utf8.encode(ns[i].c);
    for (var j = 0; j < bytes.length; j++) out.push({ c: BYTE_CHAR[bytes[j]], a: ns[i].a });
  }
  return out;
}
