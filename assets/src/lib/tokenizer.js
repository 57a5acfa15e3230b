/*
 * lib/tokenizer.js: a Hugging Face fast tokenizer (tokenizer.json) interpreted in the browser, for the
 * live probe (docs/live-probe.md). ES module; exports Tokenizer (parts in tokenizer/).
 *
 *   var tok = new Tokenizer(JSON.parse(text));
 *   var enc = tok.encode('The cat sat.', 128);   // add_special_tokens=True, truncation to 128
 *   enc.ids, enc.tokens, enc.offsets ([start, end) in code points of the text), enc.special
 *
 * Gives the same ids AND offsets as the Python tokenizer (tests/test_tokenizer_browser.py checks
 * 1,000 corpus texts). Why not a library: @huggingface/tokenizers 0.2.0 finds offsets again by
 * searching the token strings in the text (utils/offsetCalculator), which goes wrong on accents
 * stripped by BERT's normaliser, on [UNK] and on byte-level pieces; the Rust library instead tracks,
 * for every normalised character, the span of the original text it came from. So do we: a
 * "normalised string" here is a list of {c: one code point, a: [start, end) in the original}, and
 * every step (normaliser, pre-tokeniser, model) keeps those spans the way tokenizers' Rust code does
 * (an inserted character shares the span of the one before it, a removed one drops out).
 *
 * Supported components (others throw "unsupported ...", shown on the page as "no live probe"):
 *   normalizers: BertNormalizer, Lowercase, NFC, NFD, NFKC, NFKD, StripAccents, Strip, Replace
 *                (string pattern), Prepend, Sequence;
 *   pre-tokenizers: BertPreTokenizer, ByteLevel, Whitespace, WhitespaceSplit, Split, Digits,
 *                   Punctuation, Metaspace, Sequence;
 *   models: WordPiece, BPE (byte-level, byte_fallback, ignore_merges);
 *   post-processors: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence.
 * Added tokens with "normalized": false are split off the raw text first, as in Rust.
 */
import { normalizer } from './tokenizer/normalizers.js';
import { preTokenizer } from './tokenizer/pre-tokenizers.js';
import { model } from './tokenizer/models.js';
import { emptyEnc, postProcessor } from './tokenizer/post-processors.js';
import { span } from './tokenizer/strings.js';

/** json: the parsed tokenizer.json (tokenizer.backend_tokenizer.to_str()). */
export function Tokenizer(json) {
  this.normalize = normalizer(json.normalizer);
  this.preTokenize = preTokenizer(json.pre_tokenizer);
  this.model = model(json.model);
  this.post = postProcessor(json.post_processor);
  // added tokens matched on the raw text (normalized: false), longest first
  this.added = (json.added_tokens || []).filter(function (t) { return !t.normalized; })
    .map(function (t) { return { id: t.id, chars: Array.from(t.content), content: t.content }; })
    .sort(function (a, b) { return b.chars.length - a.chars.length; });
  this.idToToken = new Map();
  var self = this;
  this.model.vocab.forEach(function (id, tok) { self.idToToken.set(id, tok); });
  (json.added_tokens || []).forEach(function (t) { self.idToToken.set(t.id, t.content); });
}

/** Split the raw code points at added tokens: [{lo, hi, added: token or null}]. */
Tokenizer.prototype.splitAdded = function (cps) {
  var parts = [], lo = 0, i = 0;
  while (i < cps.length) {
    var hit = null;
    for (var k = 0; k < this.added.length && !hit; k++) {
      var t = this.added[k], ok = t.chars.length > 0 && i + t.chars.length <= cps.length;
      for (var j = 0; ok && j < t.chars.length; j++) ok = cps[i + j] === t.chars[j];
      if (ok) hit = t;
    }
    if (!hit) { i++; continue; }
    if (i > lo) parts.push({ lo: lo, hi: i, added: null });
    parts.push({ lo: i, hi: i + hit.chars.length, added: hit });
    i += hit.chars.length;
    lo = i;
  }
  if (lo < cps.length) parts.push({ lo: lo, hi: cps.length, added: null });
  return parts;
};

/**
 * Encode one text like Python's tokenizer(text, add_special_tokens=True, truncation=True,
 * max_length=maxTokens). Returns {ids, tokens, offsets ([start, end) in code points), special
 * (1 = added by the post-processor), chars (the text's code points), truncated (bool),
 * nFull (tokens before truncation, specials excluded)}.
 */
Tokenizer.prototype.encode = function (input, maxTokens) {
  var cps = Array.from(String(input));
  var enc = emptyEnc(), self = this;
  this.splitAdded(cps).forEach(function (part) {
    if (part.added) {
      enc.ids.push(part.added.id); enc.tokens.push(part.added.content);
      enc.offsets.push([part.lo, part.hi]); enc.special.push(0);
      return;
    }
    var ns = [];
    for (var i = part.lo; i < part.hi; i++) ns.push({ c: cps[i], a: [i, i + 1] });
    self.preTokenize([self.normalize(ns)]).forEach(function (piece) {
      if (!piece.length) return;
      self.model.tokenize(piece.map(function (x) { return x.c; })).forEach(function (t) {
        enc.ids.push(t.id); enc.tokens.push(t.value); enc.offsets.push(span(piece, t.lo, t.hi)); enc.special.push(0);
      });
    });
  });
  var nFull = enc.ids.length, truncated = false;
  if (maxTokens) {
    var keep = Math.max(0, maxTokens - this.post.added);
    if (nFull > keep) {
      truncated = true;
      ['ids', 'tokens', 'offsets', 'special'].forEach(function (k) { enc[k] = enc[k].slice(0, keep); });
    }
  }
  var out = this.post.apply(enc);
  out.chars = cps;
  out.truncated = truncated;
  out.nFull = nFull;
  return out;
};

/** The text a token covers (its piece for special tokens). */
Tokenizer.tokenText = function (enc, i) {
  var o = enc.offsets[i];
  return enc.special[i] || o[1] <= o[0] ? enc.tokens[i] : enc.chars.slice(o[0], o[1]).join('');
};
