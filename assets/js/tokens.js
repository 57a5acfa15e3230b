(() => {
  // assets/src/core/data.js
  var T = () => window.TFVIS;
  var loadBytes = (...a) => T().loadBytes(...a);
  var loadJSON = (...a) => T().loadJSON(...a);
  var loadColumns = (...a) => T().loadColumns(...a);
  var manifest = (...a) => T().manifest(...a);
  var forget = (...a) => T().forget(...a);
  var base64ToBuffer = (...a) => T().base64ToBuffer(...a);
  var el = (...a) => T().el(...a);
  var clear = (...a) => T().clear(...a);
  var query = (...a) => T().query(...a);
  var setQuery = (...a) => T().setQuery(...a);
  var onState = (...a) => T().onState(...a);

  // assets/src/shared/token-factors.js
  var loaded = null;
  function tokenFactors() {
    if (!loaded) loaded = manifest().then(build);
    return loaded;
  }
  function build(m) {
    const att = m.attention;
    const tf = att && att.token_factors;
    const out = {
      sampleRow: /* @__PURE__ */ new Map(),
      nLayers: att ? att.model.n_layers : 0,
      nHidden: 0,
      top: 0,
      at: () => null,
      atSample: () => null
    };
    if (!att || !att.files || !att.files.sentences) return out;
    return Promise.all([
      loadColumns(att.files.sentences, ["sentence_id", "token_offset", "n_tokens"]),
      tf ? loadBytes(tf.file) : null
    ]).then(([s, bytes]) => {
      if (s.sentence_id) for (let i = 0; i < s.sentence_id.length; i++) out.sampleRow.set(Number(s.sentence_id[i]), i);
      if (!bytes) return out;
      const packed = new Uint16Array(bytes);
      const top = tf.top;
      const nTok = att.n_tokens;
      out.top = top;
      out.nHidden = packed.length / (nTok * top * 2);
      out.atSample = (hidden, row, pos) => {
        if (row === void 0 || row === null || pos >= s.n_tokens[row] || hidden < 0 || hidden >= out.nHidden) return null;
        const base = (hidden * nTok + s.token_offset[row] + pos) * top * 2;
        const list = [];
        for (let k = 0; k < top; k++) {
          const f = packed[base + 2 * k];
          if (f !== tf.missing) list.push({ factor: f, value: packed[base + 2 * k + 1] * tf.scale });
        }
        return list;
      };
      out.at = (hidden, sid, pos) => out.atSample(hidden, out.sampleRow.get(sid), pos);
      return out;
    });
  }
  function factorLinks(list, hidden, options = {}) {
    if (!list.length) return el("span", { class: "muted" }, options.empty || "no active factor");
    const label = options.label || ((x) => "factor " + x.factor);
    const href = options.href || ((x) => "factor.html?f=" + x.factor + "&l=" + hidden);
    const span2 = el("span", { class: "factor-links" });
    list.forEach((x, k) => {
      if (k) span2.appendChild(document.createTextNode(" · "));
      span2.appendChild(el("a", Object.assign({ href: href(x), title: "activation " + x.value }, options.attrs ? options.attrs(x) : {}), label(x)));
      span2.appendChild(el("span", { class: "muted" }, " " + x.value.toFixed(2)));
    });
    return span2;
  }

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

  // assets/src/shared/live-probe.js
  var ENCODER_ONNX = "CAgSCnRmdmlzLXNpdGU6uQIKEQoBaAoEbWVhbhIBYyIDU3ViChIKAWMKBXNjYWxlEgF6IgNEaXYKEwoBegoFYl9kZWMSAnpjIgNTdWIKFgoCemMKBVdfZW5jEgFwIgZNYXRNdWwKFAoBcAoFYl9lbmMSA3ByZSIDQWRkEg10ZnZpc19lbmNvZGVyWhoKAWgSFQoTCAESDwoDEgFMCgMSAVQKAxIBZFodCgRtZWFuEhUKEwgBEg8KAxIBTAoCCAEKBBICZDJaHgoFc2NhbGUSFQoTCAESDwoDEgFMCgIIAQoEEgJkM1oUCgViX2RlYxILCgkIARIFCgMSAWRaGQoFV19lbmMSEAoOCAESCgoDEgFkCgMSAW1aFAoFYl9lbmMSCwoJCAESBQoDEgFtYhwKA3ByZRIVChMIARIPCgMSAUwKAxIBVAoDEgFtQgQKABAN";
  var ASSETS = (() => {
    const s = document.currentScript && document.currentScript.src;
    return s ? s.replace(/js\/[^/]+\.js(\?.*)?$/, "") : "../../assets/";
  })();
  var timings = { loadMs: {}, sessionMs: null };
  function unavailable(m) {
    if (m.live_unavailable) return "The live probe is not available for this model: " + m.live_unavailable;
    if (!m.live) return "This site was built without the live probe (tfvis-site build --no-live-probe).";
    const enc = m.live.encoder || {};
    if (enc.method && enc.method !== "topk-sae") {
      return "The live probe needs the TopK SAE encoder; this site's factors were coded with " + enc.method + ".";
    }
    if (typeof window.WebAssembly !== "object") return "This browser has no WebAssembly, which the live probe needs.";
    if (typeof window.DecompressionStream !== "function") {
      return "This browser cannot inflate the probe's runtime (no DecompressionStream): use Chrome 80, Firefox 113, Safari 16.4 or newer.";
    }
    return null;
  }
  function addScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.async = true;
      s.onload = () => {
        s.remove();
        resolve();
      };
      s.onerror = () => {
        s.remove();
        reject(new Error("could not load " + src));
      };
      (document.head || document.documentElement).appendChild(s);
    });
  }
  function gunzip(buffer) {
    const stream = new Blob([buffer]).stream().pipeThrough(new window.DecompressionStream("gzip"));
    return new Response(stream).arrayBuffer();
  }
  var runtimeP = null;
  function runtime() {
    if (!runtimeP) {
      runtimeP = Promise.all([
        window.ort ? null : addScript(ASSETS + "vendor/ort.min.js"),
        window.TFVIS_ORT_WASM_GZIP ? null : addScript(ASSETS + "vendor/ort-wasm.min.js")
      ]).then(() => {
        const ort = window.ort;
        if (!ort || !ort.InferenceSession) throw new Error("onnxruntime-web did not load (assets/vendor/ort.min.js)");
        if (typeof window.TFVIS_ORT_WASM_GZIP !== "string") throw new Error("the WebAssembly binary did not load (assets/vendor/ort-wasm.min.js)");
        const gzipped = base64ToBuffer(window.TFVIS_ORT_WASM_GZIP);
        delete window.TFVIS_ORT_WASM_GZIP;
        return gunzip(gzipped).then((wasm) => {
          ort.env.wasm.numThreads = 1;
          ort.env.wasm.proxy = false;
          ort.env.wasm.wasmBinary = new Uint8Array(wasm);
          return ort;
        });
      });
      runtimeP.catch(() => {
        runtimeP = null;
      });
    }
    return runtimeP;
  }
  function encoderArrays(spec, buf) {
    const out = {};
    Object.keys(spec.arrays).forEach((name) => {
      const a = spec.arrays[name];
      if (a.dtype !== "float32") throw new Error("live/encoder.bin: array " + name + " is " + a.dtype + ", expected float32");
      const n = a.shape.reduce((x, y) => x * y, 1);
      out[name] = { data: new Float32Array(buf.slice(a.offset, a.offset + 4 * n)), shape: a.shape };
    });
    ["mean", "scale", "W_enc", "b_enc", "b_dec"].forEach((k) => {
      if (!out[k]) throw new Error('live/encoder.bin has no array "' + k + '"');
    });
    return out;
  }
  function sizeText(bytes) {
    return bytes ? (bytes / 1048576).toFixed(0) + " MB" : "size unknown";
  }
  var probeP = null;
  function load(onStep) {
    const step = onStep || (() => {
    });
    if (probeP) return probeP;
    probeP = manifest().then((m) => {
      const why = unavailable(m);
      if (why) throw new Error(why);
      const live = m.live;
      step("Loading the runtime (3.7 MB of compressed WebAssembly) and the model (" + sizeText(live.bytes) + ")…");
      const tStart = window.performance.now();
      timings.loadMs = {};
      const stamp = (key) => (x) => {
        timings.loadMs[key] = window.performance.now() - tStart;
        return x;
      };
      return Promise.all([
        runtime().then(stamp("runtime")),
        loadBytes(live.model).then(stamp("model")),
        loadJSON(live.tokenizer),
        loadBytes(live.encoder.file)
      ]).then(([ort, modelBytes, tokenizerJson, encoderBytes]) => {
        step("Starting the model…");
        const t0 = window.performance.now();
        return Promise.all([
          // No graph optimisation: folding the int8 weights' Cast * scale into fp32 and fusing
          // the graph cost ~1.0 s of the load, and the unfolded graph costs ~40 ms per run
          // (bench/browser_probe.py, default MiniLM site: load 3.16 -> 2.26 s, a 32-token
          // sentence 117 -> 138 ms; targets 3 s and 300 ms).
          ort.InferenceSession.create(new Uint8Array(modelBytes), { executionProviders: ["wasm"], graphOptimizationLevel: "disabled" }),
          ort.InferenceSession.create(new Uint8Array(base64ToBuffer(ENCODER_ONNX)), { executionProviders: ["wasm"] })
        ]).then(([model2, encoder]) => {
          forget(live.model);
          timings.sessionMs = window.performance.now() - t0;
          return makeProbe(ort, model2, encoder, new Tokenizer(tokenizerJson), encoderArrays(live.encoder, encoderBytes), m);
        });
      });
    });
    probeP.catch(() => {
      probeP = null;
    });
    return probeP;
  }
  function makeProbe(ort, model2, encoder, tokenizer, arrays, m) {
    const live = m.live;
    const k = live.encoder.k;
    const nHidden = arrays.mean.shape[0];
    const d = arrays.mean.shape[arrays.mean.shape.length - 1];
    const nFactors = arrays.b_enc.shape[0];
    const scaleDim = arrays.scale.data.length / nHidden;
    const feeds = {
      mean: new ort.Tensor("float32", arrays.mean.data, [nHidden, 1, d]),
      scale: new ort.Tensor("float32", arrays.scale.data, [nHidden, 1, scaleDim]),
      b_dec: new ort.Tensor("float32", arrays.b_dec.data, [d]),
      W_enc: new ort.Tensor("float32", arrays.W_enc.data, [d, nFactors]),
      b_enc: new ort.Tensor("float32", arrays.b_enc.data, [nFactors])
    };
    const outScale = arrays.output_scale ? arrays.output_scale.data : null;
    const massiveNorm = arrays.massive_norm ? arrays.massive_norm.data : null;
    let queue = Promise.resolve();
    function run(text2) {
      const job = queue.then(() => {
        const enc = tokenizer.encode(text2, live.max_tokens);
        const n = enc.ids.length;
        const ids = new BigInt64Array(n);
        const mask = new BigInt64Array(n);
        for (let i = 0; i < n; i++) {
          ids[i] = BigInt(enc.ids[i]);
          mask[i] = 1n;
        }
        const t0 = window.performance.now();
        return model2.run({ input_ids: new ort.Tensor("int64", ids, [1, n]), attention_mask: new ort.Tensor("int64", mask, [1, n]) }).then((out) => {
          const t1 = window.performance.now();
          return encoder.run(Object.assign({ h: out.hidden_states }, feeds)).then((e) => {
            const res = result(enc, out.hidden_states, out.attentions, e.pre.data, n);
            res.timings = { model: t1 - t0, encoder: window.performance.now() - t1 };
            return res;
          });
        });
      });
      queue = job.catch(() => {
      });
      return job;
    }
    function result(enc, hs, att, pre, n) {
      const kk = Math.min(k, nFactors);
      const topIdx = new Int32Array(nHidden * n * kk);
      const topVal = new Float32Array(nHidden * n * kk);
      for (let row = 0; row < nHidden * n; row++) {
        topK(pre, row * nFactors, nFactors, kk, topIdx, topVal, row * kk, outScale);
        if (massiveNorm && norm(hs.data, row * d, d) > massiveNorm[Math.floor(row / n)]) topVal.fill(0, row * kk, (row + 1) * kk);
      }
      return {
        enc,
        n,
        text: enc.ids.map((_, i) => Tokenizer.tokenText(enc, i)),
        hidden: hs.data,
        attentions: att.data,
        nHidden,
        nLayers: att.dims[0],
        nHeads: att.dims[1],
        k: kk,
        nFactors,
        topIdx,
        topVal,
        activation(l, t, factor) {
          const base = (l * n + t) * kk;
          for (let j = 0; j < kk; j++) if (topIdx[base + j] === factor) return topVal[base + j];
          return 0;
        },
        top(l, t, count) {
          const base = (l * n + t) * kk;
          const out = [];
          for (let j = 0; j < Math.min(count, kk); j++) if (topVal[base + j] > 0) out.push({ factor: topIdx[base + j], value: topVal[base + j] });
          return out;
        },
        /** Attention weights of layer l, head h: Float32Array n x n (rows = queries). */
        weights(l, h) {
          const off = (l * att.dims[1] + h) * n * n;
          return att.data.slice(off, off + n * n);
        }
      };
    }
    return { manifest: m, live, tokenizer, nFactors, nHidden, run };
  }
  function norm(x, off, d) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[off + j] * x[off + j];
    return Math.sqrt(s);
  }
  function topK(pre, off, m, k, idx, val, at, outScale) {
    let n = 0;
    for (let j = 0; j < m; j++) {
      const v = pre[off + j];
      if (n === k && v <= val[at + k - 1]) continue;
      let p = n < k ? n++ : k - 1;
      while (p > 0 && val[at + p - 1] < v) {
        val[at + p] = val[at + p - 1];
        idx[at + p] = idx[at + p - 1];
        p--;
      }
      val[at + p] = v;
      idx[at + p] = j;
    }
    for (let q = 0; q < k; q++) {
      const x = val[at + q] > 0 ? val[at + q] : 0;
      val[at + q] = outScale ? x * outScale[idx[at + q]] : x;
    }
  }
  function wireForm(opts) {
    const param = opts.param || "text";
    const status = opts.status;
    let shown = null;
    let seq = 0;
    const card = opts.form.closest(".live-card") || opts.form;
    card.inspect = { load, timings: () => ({ loadMs: Object.assign({}, timings.loadMs), sessionMs: timings.sessionMs }) };
    const say = (msg, cls) => {
      status.textContent = msg;
      status.className = cls || "muted";
    };
    const sync = (text2) => {
      if (text2 === void 0 || text2 === "") {
        shown = null;
        opts.input.value = "";
        say("", "muted");
        if (opts.onClear) opts.onClear();
        return;
      }
      if (text2 === shown) return;
      opts.input.value = text2;
      go(text2);
    };
    const go = (text2) => {
      const my = ++seq;
      shown = text2;
      opts.form.setAttribute("aria-busy", "true");
      say("Loading…", "muted live-loading");
      load((msg) => {
        if (my === seq) say(msg, "muted live-loading");
      }).then((probe) => {
        if (my === seq) say("Running the model…", "muted live-loading");
        return probe.run(text2).then((res) => [probe, res]);
      }).then(([probe, res]) => {
        if (my !== seq) return;
        opts.form.removeAttribute("aria-busy");
        say(res.enc.truncated ? "Your text has " + (res.enc.nFull + probe.tokenizer.post.added) + " tokens; only the first " + probe.live.max_tokens + " (the model's limit on this site) were run." : "", res.enc.truncated ? "live-notice" : "muted");
        opts.onResult(res, text2, probe);
        document.body.dataset.liveReady = String(Date.now());
      }).catch((err) => {
        if (my !== seq) return;
        opts.form.removeAttribute("aria-busy");
        say("The live probe failed: " + (err && err.message ? err.message : err), "error");
      });
    };
    manifest().then((m) => {
      const why = unavailable(m);
      if (why) {
        opts.form.querySelectorAll("textarea, input, button").forEach((x) => {
          x.disabled = true;
        });
        say(why, "error");
        return;
      }
      opts.form.addEventListener("submit", (e) => {
        e.preventDefault();
        const text2 = opts.input.value;
        if (!text2.trim()) {
          say("Type some text first.", "error");
          return;
        }
        setQuery({ [param]: text2 }, true);
        go(text2);
      });
      onState((q) => sync(q[param]));
      sync(query()[param]);
    }).catch((err) => say("Could not load the data: " + err.message, "error"));
  }

  // assets/src/live/view.js
  var $ = (id) => document.getElementById(id);
  function wireLive(param, onResult, onClear) {
    const form = $("live-form");
    if (!form) return null;
    const out = $("live-out");
    wireForm({
      form,
      input: $("live-input"),
      status: $("live-status"),
      param,
      onResult,
      onClear: () => {
        onClear();
        clear(out);
      }
    });
    return out;
  }
  function liveTable(res, layers2, opts, cell) {
    const head = el("tr", null, el("th", { scope: "col" }, "token"));
    layers2.forEach((k) => head.appendChild(el("th", { scope: "col", class: k === opts.current ? "live-cur" : null }, "L" + k)));
    const body = el("tbody");
    for (let t = 0; t < res.n; t++) {
      const tr = el("tr", null, el("th", { scope: "row", class: res.enc.special[t] ? "live-special" : null }, res.text[t]));
      layers2.forEach((k) => tr.appendChild(cell(t, k)));
      body.appendChild(tr);
    }
    return el(
      "div",
      { class: "live-table-wrap" },
      el("table", { class: opts.class, id: "live-table", "aria-label": opts.label }, el("thead", null, head), body)
    );
  }

  // assets/src/live/tokens.js
  var TOP = 3;
  var MAX_COLUMNS = 8;
  function startLiveTokens() {
    let last = null;
    const out = wireLive("live", (res, text2) => {
      last = { res, text: text2 };
      render();
    }, () => {
      last = null;
    });
    if (!out) return;
    onState(() => {
      if (last) render();
    });
    function render() {
      const { res, text: text2 } = last;
      const shown = layers(res);
      clear(out);
      const pick = el("select", { id: "live-layer", "aria-label": "Layer" }, el("option", { value: "all" }, "all layers"));
      for (let l = 0; l < res.nHidden; l++) pick.appendChild(el("option", { value: String(l) }, "layer " + l));
      pick.value = shown.length > 1 ? "all" : String(shown[0]);
      pick.addEventListener("change", () => {
        setQuery({ ll: pick.value }, true);
        render();
      });
      out.appendChild(el("div", { class: "toolbar" }, el("label", { for: "live-layer" }, "Show"), pick));
      const link = (x, layer) => "factor.html?" + new URLSearchParams({ f: String(x.factor), l: String(layer), text: text2 }).toString();
      out.appendChild(liveTable(
        res,
        shown,
        { class: "live-table live-top", label: "Strongest factors per token and layer" },
        (t, k) => el("td", null, factorLinks(res.top(k, t, TOP), k, {
          empty: "·",
          label: (x) => String(x.factor),
          href: (x) => link(x, k),
          attrs: (x) => ({ title: null, dataset: { factor: x.factor, activation: x.value.toFixed(4) } })
        }))
      ));
      out.appendChild(el("p", { class: "muted small" }, "Each cell: the " + TOP + " strongest factors of the token at that layer (hidden state; 0 = embeddings) with their activation. Follow a link to see the factor on this text."));
    }
  }
  function layers(res) {
    let q = query().ll;
    if (q === void 0 && res.nHidden <= MAX_COLUMNS) q = "all";
    if (q === "all") return Array.from({ length: res.nHidden }, (_, i) => i);
    const l = parseInt(q, 10);
    return [l >= 0 && l < res.nHidden ? l : Math.floor(res.nHidden / 2)];
  }

  // assets/src/core/images.js
  for (const k of []) k;

  // assets/src/factors/common.js
  var factRow = (k, v) => el("div", null, el("dt", null, k), el("dd", null, v));

  // assets/src/shared/pager.js
  function wirePager(go, top) {
    const turn = (delta) => {
      const page = Number(query().page || 0) + delta;
      go(page || null);
      top.scrollIntoView({ block: "start" });
    };
    document.getElementById("prev").addEventListener("click", () => turn(-1));
    document.getElementById("next").addEventListener("click", () => turn(1));
  }

  // assets/src/tokens/browser.js
  var PAGE_SIZE = 50;
  var $2 = (id) => document.getElementById(id);
  function forwardImages() {
    if (!$2("image-forward")) return false;
    const q = query();
    const to = new URLSearchParams();
    if (/^\d+$/.test(q.s || "")) to.set("i", q.s);
    if (/^\d+$/.test(q.s || "") && /^\d+$/.test(q.t || "")) to.set("p", q.t);
    window.location.replace("images.html" + (to.toString() ? "?" + to.toString() : ""));
    return true;
  }
  function startTokens() {
    let sentences, tokens, links, factorsBuilt = false;
    const tokenCount = /* @__PURE__ */ new Map();
    const list = $2("sentences");
    const detail = $2("token-detail");
    const status = $2("status");
    const input = $2("q");
    const attentionIndex = manifest().then((m) => {
      factorsBuilt = Boolean(m.factors && m.factors.n_factors);
      return tokenFactors();
    });
    Promise.all([loadColumns("sentences.parquet"), loadColumns("tokens.parquet"), attentionIndex]).then((tables) => {
      [sentences, tokens, links] = tables;
      for (let i = 0; i < tokens.token_id.length; i++) {
        tokenCount.set(tokens.token_id[i], (tokenCount.get(tokens.token_id[i]) || 0) + 1);
      }
      status.textContent = "";
      $2("token-search").addEventListener("submit", (e) => {
        e.preventDefault();
        show(setQuery({ q: input.value || null, page: null, s: null, t: null }, true));
      });
      wirePager((page) => show(setQuery({ page, s: null, t: null }, true)), list);
      show(query());
      onState(show);
    }).catch((err) => {
      status.textContent = "Could not load the data: " + err.message;
      status.className = "error";
    });
    function show(state) {
      input.value = state.q || "";
      const needle = (state.q || "").toLowerCase();
      const matches = [];
      for (let i = 0; i < sentences.text.length; i++) {
        if (!needle || sentences.text[i].toLowerCase().indexOf(needle) !== -1) matches.push(i);
      }
      const pages = Math.max(1, Math.ceil(matches.length / PAGE_SIZE));
      let page = Math.min(pages - 1, Math.max(0, Number(state.page || 0)));
      const selected = state.s !== void 0 ? Number(state.s) : null;
      if (selected !== null && state.page === void 0) {
        const at = matches.indexOf(selected);
        if (at !== -1) page = Math.floor(at / PAGE_SIZE);
      }
      $2("count").textContent = matches.length.toLocaleString() + " of " + sentences.text.length.toLocaleString() + " texts";
      $2("page-info").textContent = "page " + (page + 1) + " of " + pages;
      $2("prev").disabled = page === 0;
      $2("next").disabled = page >= pages - 1;
      clear(list);
      matches.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).forEach((sid) => list.appendChild(sentenceItem(sid)));
      if (selected !== null && selected < sentences.text.length) {
        select(selected, Number(state.t || 0));
      } else {
        clear(detail).appendChild(el("p", { class: "muted" }, "Select a token."));
      }
    }
    function sentenceItem(sid) {
      const start = sentences.token_offset[sid];
      const n = sentences.n_tokens[sid];
      const line = el("p", { class: "tokens" });
      for (let pos = 0; pos < n; pos++) {
        const i = start + pos;
        if (tokens.space_before[i]) line.appendChild(document.createTextNode(" "));
        line.appendChild(el("button", {
          type: "button",
          class: tokens.is_special[i] ? "tok special" : "tok",
          title: tokens.piece[i] + " · id " + tokens.token_id[i] + " · position " + pos,
          dataset: { s: sid, t: pos },
          onclick: onTokenClick
        }, tokens.text[i]));
      }
      return el(
        "li",
        { id: "s" + sid, value: sid },
        el("a", { class: "sid", href: "?s=" + sid, title: "Link to text " + sid }, "#" + sid),
        line
      );
    }
    function onTokenClick(e) {
      const b = e.currentTarget;
      setQuery({ s: b.dataset.s, t: b.dataset.t }, true);
      select(Number(b.dataset.s), Number(b.dataset.t));
    }
    function select(sid, pos) {
      list.querySelectorAll(".tok.selected, li.selected").forEach((x) => x.classList.remove("selected"));
      const item = $2("s" + sid);
      const n = sentences.n_tokens[sid];
      pos = Math.min(Math.max(0, pos), n - 1);
      if (item) {
        item.classList.add("selected");
        const button = item.querySelector('.tok[data-t="' + pos + '"]');
        if (button) {
          button.classList.add("selected");
          button.scrollIntoView({ block: "nearest" });
        }
      }
      const i = sentences.token_offset[sid] + pos;
      const id = tokens.token_id[i];
      clear(detail).appendChild(el(
        "div",
        null,
        el("h2", null, el("span", { class: "tok big" }, tokens.text[i])),
        el(
          "dl",
          { class: "facts" },
          factRow("Piece", tokens.piece[i]),
          factRow("Token id", String(id)),
          factRow("Position", pos + " of " + n + " in text #" + sid),
          factRow("Special token", tokens.is_special[i] ? "yes" : "no"),
          factRow("In the corpus", (tokenCount.get(id) || 0).toLocaleString() + " occurrences")
        ),
        el("p", { class: "muted" }, sentences.text[sid]),
        explore(sid, pos, tokens.text[i].trim().toLowerCase()),
        strongestFactors(sid, pos)
      ));
    }
    function strongestFactors(sid, pos) {
      if (!factorsBuilt || !links.nHidden) return document.createTextNode("");
      const box = el("div", { id: "token-factors" }, el("h3", null, "Strongest factors of this token"));
      if (!links.at(0, sid, pos)) {
        box.appendChild(el("p", { class: "muted" }, "Stored for the " + links.sampleRow.size.toLocaleString() + " texts of the attention sample only; this text is not one of them (search the factors by word above)."));
        return box;
      }
      const dl = el("dl", { class: "facts" });
      for (let l = 0; l < links.nHidden; l++) {
        dl.appendChild(factRow("Layer " + l + (l === 0 ? " (embeddings)" : ""), factorLinks(links.at(l, sid, pos), l)));
      }
      box.appendChild(el("p", { class: "muted" }, "Top " + links.top + " factor activations of its hidden state at each layer (layer l = the input of attention layer l)."));
      box.appendChild(dl);
      return box;
    }
    function explore(sid, pos, word) {
      const items = [];
      if (links.sampleRow.has(sid)) {
        items.push(el("li", null, el(
          "a",
          { href: "attention-head.html?s=" + links.sampleRow.get(sid) + "&t=" + pos },
          "Attention from this token"
        ), " (sentence view and attention lines; pick a head there)"));
      }
      if (factorsBuilt && word) {
        items.push(el("li", null, el("a", { href: "factors.html?q=" + encodeURIComponent(word) }, "Factors that fire on “" + word + "”")));
      }
      return items.length ? el("ul", { class: "explore-links" }, items) : document.createTextNode("");
    }
  }

  // assets/src/pages/tokens.js
  if (!forwardImages()) {
    startTokens();
    startLiveTokens();
  }
})();
