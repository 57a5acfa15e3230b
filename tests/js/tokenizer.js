var tokenizerUnderTest = (() => {
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

  // assets/src/test-entries/tokenizer.js
  var tokenizer_exports = {};
  __export(tokenizer_exports, {
    Tokenizer: () => Tokenizer
  });

  // assets/src/shared/tokenizer/strings.js
  var RE_WHITE = /^\p{White_Space}$/u;
  var RE_MN = /^\p{Mn}$/u;
  var RE_OTHER = /^\p{C}$/u;
  var RE_PUNCT = /^\p{P}$/u;
  var ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  var GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
  function isWhite(c) {
    return RE_WHITE.test(c);
  }
  function isBertPunct(c) {
    return ASCII_PUNCT.indexOf(c) !== -1 || RE_PUNCT.test(c);
  }
  function isChinese(cp) {
    return cp >= 19968 && cp <= 40959 || cp >= 13312 && cp <= 19903 || cp >= 131072 && cp <= 173791 || cp >= 173824 && cp <= 177983 || cp >= 177984 && cp <= 178207 || cp >= 178464 && cp <= 183983 || cp >= 63744 && cp <= 64255 || cp >= 194560 && cp <= 195103;
  }
  function mapChars(ns, fn) {
    var out = [];
    for (var i = 0; i < ns.length; i++) {
      var parts = Array.from(fn(ns[i].c));
      for (var j = 0; j < parts.length; j++) out.push({ c: parts[j], a: ns[i].a });
    }
    return out;
  }
  function filterChars(ns, keep) {
    return ns.filter(function(x) {
      return keep(x.c);
    });
  }
  function text(ns) {
    var s = "";
    for (var i = 0; i < ns.length; i++) s += ns[i].c;
    return s;
  }
  function span(ns, lo, hi) {
    return [ns[lo].a[0], ns[hi - 1].a[1]];
  }
  function splitBy(ns, isMatch, behavior) {
    var ranges = [];
    if (typeof isMatch === "function") {
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
  function regexRanges(ns, re) {
    var s = text(ns), unitToChar = new Int32Array(s.length + 1), u = 0;
    for (var i = 0; i < ns.length; i++) {
      unitToChar[u] = i;
      u += ns[i].c.length;
    }
    unitToChar[u] = ns.length;
    var ranges = [], last = 0, m;
    re.lastIndex = 0;
    while ((m = re.exec(s)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      var a = unitToChar[m.index], b = unitToChar[m.index + m[0].length];
      if (a > last) ranges.push([last, a, false]);
      ranges.push([a, b, true]);
      last = b;
    }
    if (last < ns.length) ranges.push([last, ns.length, false]);
    return ranges;
  }
  function applyBehavior(ns, ranges, behavior) {
    var pieces = [], i, r;
    if (behavior === "Removed") {
      for (i = 0; i < ranges.length; i++) if (!ranges[i][2]) pieces.push([ranges[i][0], ranges[i][1]]);
    } else if (behavior === "Isolated") {
      pieces = ranges.map(function(x) {
        return [x[0], x[1]];
      });
    } else if (behavior === "MergedWithPrevious") {
      for (i = 0; i < ranges.length; i++) {
        r = ranges[i];
        if (r[2] && pieces.length && !ranges[i - 1][2]) pieces[pieces.length - 1][1] = r[1];
        else pieces.push([r[0], r[1]]);
      }
    } else if (behavior === "MergedWithNext") {
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
    } else if (behavior === "Contiguous") {
      for (i = 0; i < ranges.length; i++) {
        r = ranges[i];
        if (r[2] && i > 0 && ranges[i - 1][2]) pieces[pieces.length - 1][1] = r[1];
        else pieces.push([r[0], r[1]]);
      }
    } else {
      throw new Error("unsupported split behaviour " + behavior);
    }
    return pieces.filter(function(p) {
      return p[1] > p[0];
    }).map(function(p) {
      return ns.slice(p[0], p[1]);
    });
  }
  function unsupported(kind, spec) {
    return new Error("unsupported tokenizer " + kind + ' "' + (spec && spec.type) + '"');
  }
  function isDigit(c) {
    return /^\p{Nd}$/u.test(c);
  }
  function keepMatches(ns, re, behavior) {
    var ranges = regexRanges(ns, re).map(function(r) {
      return [r[0], r[1], !r[2]];
    });
    return applyBehavior(ns, ranges, behavior || "Removed");
  }
  var BYTE_CHAR = (function() {
    var table = new Array(256), n = 0;
    for (var b = 0; b < 256; b++) {
      var printable = b >= 33 && b <= 126 || b >= 161 && b <= 172 || b >= 174 && b <= 255;
      table[b] = String.fromCodePoint(printable ? b : 256 + n++);
    }
    return table;
  })();
  var utf8 = new TextEncoder();
  function toByteChars(ns) {
    var out = [];
    for (var i = 0; i < ns.length; i++) {
      var bytes = utf8.encode(ns[i].c);
      for (var j = 0; j < bytes.length; j++) out.push({ c: BYTE_CHAR[bytes[j]], a: ns[i].a });
    }
    return out;
  }

  // assets/src/shared/tokenizer/normalizers.js
  function normalizer(spec) {
    if (!spec) return function(ns) {
      return ns;
    };
    switch (spec.type) {
      case "Sequence": {
        var steps = spec.normalizers.map(normalizer);
        return function(ns) {
          steps.forEach(function(f) {
            ns = f(ns);
          });
          return ns;
        };
      }
      case "BertNormalizer":
        return function(ns) {
          if (spec.clean_text) {
            ns = filterChars(ns, function(c) {
              var cp = c.codePointAt(0);
              if (cp === 0 || cp === 65533) return false;
              if (c === "	" || c === "\n" || c === "\r") return true;
              return !RE_OTHER.test(c);
            });
            ns = mapChars(ns, function(c) {
              return isWhite(c) ? " " : c;
            });
          }
          if (spec.handle_chinese_chars) {
            ns = mapChars(ns, function(c) {
              return isChinese(c.codePointAt(0)) ? " " + c + " " : c;
            });
          }
          var strip = spec.strip_accents === null || spec.strip_accents === void 0 ? spec.lowercase : spec.strip_accents;
          if (strip) ns = stripAccents(nf(ns, "NFD"));
          if (spec.lowercase) ns = mapChars(ns, lower);
          return ns;
        };
      case "Lowercase":
        return function(ns) {
          return mapChars(ns, lower);
        };
      case "NFC":
      case "NFD":
      case "NFKC":
      case "NFKD":
        return function(ns) {
          return nf(ns, spec.type);
        };
      case "StripAccents":
        return stripAccents;
      case "Strip":
        return function(ns) {
          var lo = 0, hi = ns.length;
          if (spec.strip_left) while (lo < hi && isWhite(ns[lo].c)) lo++;
          if (spec.strip_right) while (hi > lo && isWhite(ns[hi - 1].c)) hi--;
          return ns.slice(lo, hi);
        };
      case "Prepend":
        return function(ns) {
          if (!ns.length) return ns;
          return Array.from(spec.prepend).map(function(c) {
            return { c, a: ns[0].a };
          }).concat(ns);
        };
      case "Replace": {
        if (!spec.pattern || spec.pattern.String === void 0) throw unsupported("normalizer", { type: "Replace (regex)" });
        var from = Array.from(spec.pattern.String), to = Array.from(spec.content);
        return function(ns) {
          if (!from.length) return ns;
          var out = [];
          for (var i = 0; i < ns.length; ) {
            var hit = i + from.length <= ns.length;
            for (var k = 0; hit && k < from.length; k++) hit = ns[i + k].c === from[k];
            if (!hit) {
              out.push(ns[i]);
              i++;
              continue;
            }
            var a = [ns[i].a[0], ns[i + from.length - 1].a[1]];
            to.forEach(function(c) {
              out.push({ c, a });
            });
            i += from.length;
          }
          return out;
        };
      }
      default:
        throw unsupported("normalizer", spec);
    }
  }
  function lower(c) {
    return c.toLowerCase();
  }
  function nf(ns, form) {
    return mapChars(ns, function(c) {
      return c.normalize(form);
    });
  }
  function stripAccents(ns) {
    return filterChars(ns, function(c) {
      return !RE_MN.test(c);
    });
  }

  // assets/src/shared/tokenizer/pre-tokenizers.js
  function preTokenizer(spec) {
    if (!spec) return function(splits) {
      return splits;
    };
    var each = function(fn) {
      return function(splits) {
        var out = [];
        splits.forEach(function(ns) {
          fn(ns).forEach(function(p) {
            out.push(p);
          });
        });
        return out;
      };
    };
    switch (spec.type) {
      case "Sequence": {
        var steps = spec.pretokenizers.map(preTokenizer);
        return function(splits) {
          steps.forEach(function(f) {
            splits = f(splits);
          });
          return splits;
        };
      }
      case "BertPreTokenizer":
        return function(splits) {
          return each(function(ns) {
            return splitBy(ns, isBertPunct, "Isolated");
          })(
            each(function(ns) {
              return splitBy(ns, isWhite, "Removed");
            })(splits)
          );
        };
      case "WhitespaceSplit":
        return each(function(ns) {
          return splitBy(ns, isWhite, "Removed");
        });
      case "Whitespace": {
        var word = /[\p{L}\p{N}\p{M}\p{Pc}]+|[^\p{L}\p{N}\p{M}\p{Pc}\p{White_Space}]+/gu;
        return each(function(ns) {
          return keepMatches(ns, word);
        });
      }
      case "Punctuation":
        return each(function(ns) {
          return splitBy(ns, isBertPunct, spec.behavior || "Isolated");
        });
      case "Digits":
        return each(function(ns) {
          return spec.individual_digits ? splitBy(ns, isDigit, "Isolated") : splitBy(ns, /\p{Nd}+/gu, "Isolated");
        });
      case "Split": {
        var pattern = spec.pattern.Regex !== void 0 ? new RegExp(spec.pattern.Regex, "gu") : new RegExp(spec.pattern.String.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
        return each(function(ns) {
          if (spec.invert) return keepMatches(ns, pattern, spec.behavior);
          return splitBy(ns, pattern, spec.behavior);
        });
      }
      case "ByteLevel":
        return each(function(ns) {
          if (spec.add_prefix_space && ns.length && ns[0].c !== " ") ns = [{ c: " ", a: ns[0].a }].concat(ns);
          var parts = spec.use_regex === false ? [ns] : splitBy(ns, GPT2_SPLIT, "Isolated");
          return parts.map(toByteChars);
        });
      case "Metaspace": {
        var rep = spec.replacement || "▁";
        var scheme = spec.prepend_scheme || (spec.add_prefix_space === false ? "never" : "always");
        return function(splits) {
          var out = [];
          splits.forEach(function(ns, k) {
            ns = mapChars(ns, function(c) {
              return c === " " ? rep : c;
            });
            if (ns.length && ns[0].c !== rep && (scheme === "always" || scheme === "first" && k === 0)) {
              ns = [{ c: rep, a: ns[0].a }].concat(ns);
            }
            (spec.split === false ? [ns] : splitBy(ns, function(c) {
              return c === rep;
            }, "MergedWithNext")).forEach(function(p) {
              out.push(p);
            });
          });
          return out;
        };
      }
      default:
        throw unsupported("pre-tokenizer", spec);
    }
  }

  // assets/src/shared/tokenizer/models.js
  function model(spec) {
    var vocab = new Map(Object.keys(spec.vocab).map(function(k) {
      return [k, spec.vocab[k]];
    }));
    var unk = spec.unk_token;
    var unkId = unk !== null && unk !== void 0 && vocab.has(unk) ? vocab.get(unk) : null;
    if (spec.type === "WordPiece") {
      var prefix = spec.continuing_subword_prefix === void 0 ? "##" : spec.continuing_subword_prefix;
      var maxChars = spec.max_input_chars_per_word || 100;
      return {
        vocab,
        tokenize: function(chars) {
          var unkTok = [{ id: unkId, value: unk, lo: 0, hi: chars.length }];
          if (chars.length > maxChars) return unkTok;
          var out = [], start = 0;
          while (start < chars.length) {
            var end = chars.length, found = null;
            while (start < end) {
              var sub = chars.slice(start, end).join("");
              if (start > 0) sub = prefix + sub;
              if (vocab.has(sub)) {
                found = { id: vocab.get(sub), value: sub, lo: start, hi: end };
                break;
              }
              end--;
            }
            if (!found) return unkTok;
            out.push(found);
            start = end;
          }
          return out;
        }
      };
    }
    if (spec.type === "BPE") {
      var ranks = /* @__PURE__ */ new Map();
      (spec.merges || []).forEach(function(m, r) {
        ranks.set(Array.isArray(m) ? m[0] + " " + m[1] : m, r);
      });
      var cache = /* @__PURE__ */ new Map();
      var cont = spec.continuing_subword_prefix || "", suffix = spec.end_of_word_suffix || "";
      return {
        vocab,
        tokenize: function(chars) {
          var word = chars.join("");
          if (spec.ignore_merges && vocab.has(word)) return [{ id: vocab.get(word), value: word, lo: 0, hi: chars.length }];
          var hit = cache.get(word);
          if (hit) return hit;
          var sym = chars.map(function(c, i2) {
            var s = (i2 > 0 ? cont : "") + c + (i2 === chars.length - 1 ? suffix : "");
            return [s, i2, i2 + 1];
          });
          for (; ; ) {
            var best = Infinity;
            for (var i = 0; i + 1 < sym.length; i++) {
              var r = ranks.get(sym[i][0] + " " + sym[i + 1][0]);
              if (r !== void 0 && r < best) best = r;
            }
            if (best === Infinity) break;
            var merged = [];
            for (var j = 0; j < sym.length; j++) {
              if (j + 1 < sym.length && ranks.get(sym[j][0] + " " + sym[j + 1][0]) === best) {
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
          sym.forEach(function(s) {
            if (vocab.has(s[0])) {
              out.push({ id: vocab.get(s[0]), value: s[0], lo: s[1], hi: s[2] });
              return;
            }
            if (spec.byte_fallback) {
              var bytes = utf8.encode(s[0]), all = [];
              for (var b = 0; b < bytes.length; b++) {
                var name = "<0x" + (bytes[b] < 16 ? "0" : "") + bytes[b].toString(16).toUpperCase() + ">";
                if (!vocab.has(name)) {
                  all = null;
                  break;
                }
                all.push({ id: vocab.get(name), value: name, lo: s[1], hi: s[2] });
              }
              if (all) {
                all.forEach(function(t) {
                  out.push(t);
                });
                return;
              }
            }
            if (unkId !== null) {
              var prev = out[out.length - 1];
              if (spec.fuse_unk && prev && prev.id === unkId) prev.hi = s[2];
              else out.push({ id: unkId, value: unk, lo: s[1], hi: s[2] });
            }
          });
          if (cache.size < 5e4) cache.set(word, out);
          return out;
        }
      };
    }
    throw unsupported("model", spec);
  }

  // assets/src/shared/tokenizer/post-processors.js
  function postProcessor(spec) {
    if (!spec) return { added: 0, apply: function(e) {
      return e;
    } };
    switch (spec.type) {
      case "Sequence": {
        var steps = spec.processors.map(postProcessor);
        return {
          added: steps.reduce(function(n, s) {
            return n + s.added;
          }, 0),
          apply: function(e) {
            steps.forEach(function(s) {
              e = s.apply(e);
            });
            return e;
          }
        };
      }
      case "TemplateProcessing": {
        var added = 0;
        spec.single.forEach(function(item) {
          if (item.SpecialToken) added += spec.special_tokens[item.SpecialToken.id].ids.length;
        });
        return {
          added,
          apply: function(e) {
            var out = emptyEnc();
            spec.single.forEach(function(item) {
              if (item.Sequence) {
                appendEnc(out, e);
                return;
              }
              var st = spec.special_tokens[item.SpecialToken.id];
              st.ids.forEach(function(id, k) {
                pushSpecial(out, id, st.tokens[k]);
              });
            });
            return out;
          }
        };
      }
      case "BertProcessing":
      case "RobertaProcessing":
        return {
          added: 2,
          apply: function(e) {
            if (spec.type === "RobertaProcessing" && spec.trim_offsets) e = trimOffsets(e, spec.add_prefix_space);
            var out = emptyEnc();
            pushSpecial(out, spec.cls[1], spec.cls[0]);
            appendEnc(out, e);
            pushSpecial(out, spec.sep[1], spec.sep[0]);
            return out;
          }
        };
      case "ByteLevel":
        return { added: 0, apply: function(e) {
          return spec.trim_offsets ? trimOffsets(e, spec.add_prefix_space) : e;
        } };
      default:
        throw unsupported("post-processor", spec);
    }
  }
  function emptyEnc() {
    return { ids: [], tokens: [], offsets: [], special: [] };
  }
  function pushSpecial(enc, id, token) {
    enc.ids.push(id);
    enc.tokens.push(token);
    enc.offsets.push([0, 0]);
    enc.special.push(1);
  }
  function appendEnc(out, e) {
    for (var i = 0; i < e.ids.length; i++) {
      out.ids.push(e.ids[i]);
      out.tokens.push(e.tokens[i]);
      out.offsets.push(e.offsets[i]);
      out.special.push(e.special[i]);
    }
  }
  function trimOffsets(e, addPrefixSpace) {
    var space = BYTE_CHAR[32];
    var offsets = e.offsets.map(function(o, i) {
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
    return { ids: e.ids, tokens: e.tokens, offsets, special: e.special };
  }

  // assets/src/shared/tokenizer.js
  function Tokenizer(json) {
    this.normalize = normalizer(json.normalizer);
    this.preTokenize = preTokenizer(json.pre_tokenizer);
    this.model = model(json.model);
    this.post = postProcessor(json.post_processor);
    this.added = (json.added_tokens || []).filter(function(t) {
      return !t.normalized;
    }).map(function(t) {
      return { id: t.id, chars: Array.from(t.content), content: t.content };
    }).sort(function(a, b) {
      return b.chars.length - a.chars.length;
    });
    this.idToToken = /* @__PURE__ */ new Map();
    var self = this;
    this.model.vocab.forEach(function(id, tok) {
      self.idToToken.set(id, tok);
    });
    (json.added_tokens || []).forEach(function(t) {
      self.idToToken.set(t.id, t.content);
    });
  }
  Tokenizer.prototype.splitAdded = function(cps) {
    var parts = [], lo = 0, i = 0;
    while (i < cps.length) {
      var hit = null;
      for (var k = 0; k < this.added.length && !hit; k++) {
        var t = this.added[k], ok = t.chars.length > 0 && i + t.chars.length <= cps.length;
        for (var j = 0; ok && j < t.chars.length; j++) ok = cps[i + j] === t.chars[j];
        if (ok) hit = t;
      }
      if (!hit) {
        i++;
        continue;
      }
      if (i > lo) parts.push({ lo, hi: i, added: null });
      parts.push({ lo: i, hi: i + hit.chars.length, added: hit });
      i += hit.chars.length;
      lo = i;
    }
    if (lo < cps.length) parts.push({ lo, hi: cps.length, added: null });
    return parts;
  };
  Tokenizer.prototype.encode = function(input, maxTokens) {
    var cps = Array.from(String(input));
    var enc = emptyEnc(), self = this;
    this.splitAdded(cps).forEach(function(part) {
      if (part.added) {
        enc.ids.push(part.added.id);
        enc.tokens.push(part.added.content);
        enc.offsets.push([part.lo, part.hi]);
        enc.special.push(0);
        return;
      }
      var ns = [];
      for (var i = part.lo; i < part.hi; i++) ns.push({ c: cps[i], a: [i, i + 1] });
      self.preTokenize([self.normalize(ns)]).forEach(function(piece) {
        if (!piece.length) return;
        self.model.tokenize(piece.map(function(x) {
          return x.c;
        })).forEach(function(t) {
          enc.ids.push(t.id);
          enc.tokens.push(t.value);
          enc.offsets.push(span(piece, t.lo, t.hi));
          enc.special.push(0);
        });
      });
    });
    var nFull = enc.ids.length, truncated = false;
    if (maxTokens) {
      var keep = Math.max(0, maxTokens - this.post.added);
      if (nFull > keep) {
        truncated = true;
        ["ids", "tokens", "offsets", "special"].forEach(function(k) {
          enc[k] = enc[k].slice(0, keep);
        });
      }
    }
    var out = this.post.apply(enc);
    out.chars = cps;
    out.truncated = truncated;
    out.nFull = nFull;
    return out;
  };
  Tokenizer.tokenText = function(enc, i) {
    var o = enc.offsets[i];
    return enc.special[i] || o[1] <= o[0] ? enc.tokens[i] : enc.chars.slice(o[0], o[1]).join("");
  };
  return __toCommonJS(tokenizer_exports);
})();
