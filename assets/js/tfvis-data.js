/*
 * tfvis-data.js: data loader and small DOM/URL helpers shared by every tfvis-site page.
 *
 * Classic script (no ES modules, they do not load from file://). Defines window.TFVIS.
 * Load it after assets/vendor/hyparquet.min.js if the page reads Parquet tables.
 *
 * Data contract (docs: DESIGN.md section 6): every file data/NAME has a twin data/NAME.js
 *   (window.TFVIS_DATA=window.TFVIS_DATA||{})["NAME"]="<base64 of the bytes>";
 * On file:// the twin is injected as a <script> (fetch() is blocked there); on http(s) the
 * binary file is fetched and the twin is only a fallback.
 *
 * Never uses innerHTML: TFVIS.el() builds DOM nodes and puts strings in text nodes.
 */
(function (window) {
  'use strict';

  var document = window.document;
  var TFVIS = window.TFVIS || {};
  window.TFVIS = TFVIS;

  // ------------------------------------------------------------------ data root

  var explicitDataRoot = null;

  /**
   * Prefix from the page to its model's folder, the one holding data/: <body data-root="../">
   * in subfolders, else "". (A site keeps each model in models/<slug>/ with its own data/;
   * the shared assets/ are two folders up, a path the templates write, not this loader.)
   */
  function siteRoot() {
    var body = document.body;
    var root = body && body.dataset ? body.dataset.root : undefined;
    if (!root) return '';
    return root.charAt(root.length - 1) === '/' ? root : root + '/';
  }

  Object.defineProperty(TFVIS, 'siteRoot', {
    enumerable: true,
    configurable: true,
    get: siteRoot,
  });

  /** URL prefix of the model's data folder ("data/" or "../data/"); assignable to override. */
  Object.defineProperty(TFVIS, 'dataRoot', {
    enumerable: true,
    configurable: true,
    get: function () {
      return explicitDataRoot !== null ? explicitDataRoot : siteRoot() + 'data/';
    },
    set: function (value) {
      if (value === null || value === undefined) {
        explicitDataRoot = null;
      } else {
        value = String(value);
        explicitDataRoot = value === '' || value.charAt(value.length - 1) === '/' ? value : value + '/';
      }
    },
  });

  // ------------------------------------------------------------------ bytes

  var bytesCache = new Map(); // name -> Promise<ArrayBuffer>
  // Files the manifest marks "twin_only" (only NAME.js is on disk, e.g. the live probe's model):
  // loaded through the twin on http too, since fetching NAME would 404.
  var twinOnly = new Set();
  var scriptCache = new Map(); // name -> Promise<ArrayBuffer> (the .js twin)

  function checkName(name) {
    if (typeof name !== 'string' || name === '') {
      throw new Error('TFVIS: data file name must be a non-empty string, got ' + String(name));
    }
    var parts = name.split('/');
    for (var i = 0; i < parts.length; i++) {
      var p = parts[i];
      if (p === '' || p === '.' || p === '..' || p.indexOf('\\') !== -1 || p.indexOf(':') !== -1) {
        throw new Error('TFVIS: invalid data file name "' + name + '" (use a relative path inside data/)');
      }
    }
  }

  function fileUrl(name) {
    return TFVIS.dataRoot + name.split('/').map(encodeURIComponent).join('/');
  }

  var hasFromBase64 = typeof Uint8Array.fromBase64 === 'function';

  /** Decode base64 text to an ArrayBuffer (native Uint8Array.fromBase64 where available). */
  function base64ToBuffer(text) {
    if (hasFromBase64) {
      try {
        return Uint8Array.fromBase64(text).buffer;
      } catch (e) {
        /* fall through to atob, which reports the same malformed input */
      }
    }
    var bin = window.atob(text);
    var n = bin.length;
    var out = new Uint8Array(n);
    for (var i = 0; i < n; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  TFVIS.base64ToBuffer = base64ToBuffer;

  /** Take the base64 string a twin script left in window.TFVIS_DATA, decode it, free it. */
  function takeGlobal(name) {
    var store = window.TFVIS_DATA;
    if (!store || !Object.prototype.hasOwnProperty.call(store, name)) return null;
    var text = store[name];
    delete store[name];
    if (typeof text !== 'string') {
      throw new Error('TFVIS: data twin "' + name + '.js" did not define a base64 string');
    }
    return base64ToBuffer(text);
  }

  /** Load data/NAME.js with a <script> tag (works from file://). Once per name. */
  function loadViaScript(name) {
    var cached = scriptCache.get(name);
    if (cached) return cached;
    var promise = new Promise(function (resolve, reject) {
      // The page may already have included the twin with a static <script> tag.
      var ready = takeGlobal(name);
      if (ready) {
        resolve(ready);
        return;
      }
      var src = fileUrl(name) + '.js';
      var script = document.createElement('script');
      script.async = true;
      script.src = src;
      script.onload = function () {
        script.remove();
        try {
          var buf = takeGlobal(name);
          if (!buf) {
            reject(new Error('TFVIS: "' + src + '" loaded but did not define TFVIS_DATA["' + name + '"]'));
          } else {
            resolve(buf);
          }
        } catch (err) {
          reject(err);
        }
      };
      script.onerror = function () {
        script.remove();
        reject(new Error('TFVIS: could not load data file "' + name + '" (script ' + src + ' failed to load)'));
      };
      (document.head || document.documentElement).appendChild(script);
    });
    scriptCache.set(name, promise);
    promise.catch(function () {
      scriptCache.delete(name); // allow a retry later
    });
    return promise;
  }

  function loadViaFetch(name) {
    var url = fileUrl(name);
    return window.fetch(url).then(function (response) {
      if (!response.ok) {
        throw new Error('TFVIS: could not load data file "' + name + '" (HTTP ' + response.status + ' for ' + url + ')');
      }
      return response.arrayBuffer();
    });
  }

  /**
   * Bytes of data/NAME as an ArrayBuffer. The promise is cached per name and shared:
   * treat the buffer as read-only (copy it before mutating), or call TFVIS.forget(name).
   */
  TFVIS.loadBytes = function (name) {
    try {
      checkName(name);
    } catch (err) {
      return Promise.reject(err);
    }
    var cached = bytesCache.get(name);
    if (cached) return cached;
    var promise;
    if (window.location.protocol === 'file:' || typeof window.fetch !== 'function' || twinOnly.has(name)) {
      promise = loadViaScript(name);
    } else {
      promise = loadViaFetch(name).catch(function (fetchError) {
        return loadViaScript(name).catch(function (scriptError) {
          throw new Error('TFVIS: could not load data file "' + name + '": ' +
            fetchError.message + '; fallback: ' + scriptError.message);
        });
      });
    }
    bytesCache.set(name, promise);
    promise.catch(function () {
      bytesCache.delete(name);
    });
    return promise;
  };

  /** Drop the cached bytes of one file (or of all files without an argument). */
  TFVIS.forget = function (name) {
    if (name === undefined) {
      bytesCache.clear();
    } else {
      bytesCache.delete(name);
    }
  };

  function withName(name, promise) {
    return promise.catch(function (err) {
      var msg = err && err.message ? err.message : String(err);
      if (msg.indexOf('"' + name + '"') !== -1) throw err;
      throw new Error('TFVIS: could not read data file "' + name + '": ' + msg);
    });
  }

  // ------------------------------------------------------------------ typed loaders

  var utf8 = new TextDecoder('utf-8');

  TFVIS.loadText = function (name) {
    return TFVIS.loadBytes(name).then(function (buf) {
      return utf8.decode(buf);
    });
  };

  TFVIS.loadJSON = function (name) {
    return withName(name, TFVIS.loadText(name).then(JSON.parse));
  };

  /** The site index, data/manifest.json (parsed once). */
  var manifestPromise = null;
  TFVIS.manifest = function () {
    if (!manifestPromise) {
      manifestPromise = TFVIS.loadJSON('manifest.json').then(function (m) {
        var files = m && m.files ? m.files : {};
        Object.keys(files).forEach(function (name) {
          if (files[name] && files[name].twin_only) twinOnly.add(name);
        });
        return m;
      });
      manifestPromise.catch(function () {
        manifestPromise = null;
      });
    }
    return manifestPromise;
  };

  var littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

  /** Raw little-endian float32 file -> Float32Array (a view on the cached bytes). */
  TFVIS.loadFloat32 = function (name) {
    return withName(name, TFVIS.loadBytes(name).then(function (buf) {
      if (buf.byteLength % 4 !== 0) {
        throw new Error('TFVIS: "' + name + '" has ' + buf.byteLength + ' bytes, not a multiple of 4 (float32)');
      }
      if (littleEndianHost) return new Float32Array(buf);
      var n = buf.byteLength / 4;
      var view = new DataView(buf);
      var out = new Float32Array(n);
      for (var i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }));
  };

  function hyparquet() {
    var hp = window.hyparquet;
    if (!hp || typeof hp.parquetRead !== 'function') {
      throw new Error('TFVIS: window.hyparquet is missing; include assets/vendor/hyparquet.min.js before tfvis-data.js');
    }
    return hp;
  }

  /** BigInt -> Number, recursively through arrays and plain objects (lists, structs). */
  function toNumbers(value) {
    if (typeof value === 'bigint') return Number(value);
    if (value === null || typeof value !== 'object') return value;
    if (value instanceof BigInt64Array || value instanceof BigUint64Array) return Float64Array.from(value, Number);
    if (Array.isArray(value)) {
      for (var i = 0; i < value.length; i++) value[i] = toNumbers(value[i]);
      return value;
    }
    if (Object.getPrototypeOf(value) === Object.prototype) {
      for (var key in value) {
        if (Object.prototype.hasOwnProperty.call(value, key)) value[key] = toNumbers(value[key]);
      }
    }
    return value;
  }
  TFVIS.toNumbers = toNumbers;

  /**
   * Parquet table -> array of row objects {column: value}. int64 becomes Number.
   * options: {columns: [...], rowStart, rowEnd} are passed to hyparquet.
   */
  TFVIS.loadTable = function (name, options) {
    return withName(name, TFVIS.loadBytes(name).then(function (buf) {
      var opts = Object.assign({}, options || {}, { file: buf });
      return hyparquet().parquetReadObjects(opts);
    }).then(function (rows) {
      for (var i = 0; i < rows.length; i++) {
        var row = rows[i];
        for (var key in row) {
          var v = row[key];
          if (v !== null && (typeof v === 'bigint' || typeof v === 'object')) row[key] = toNumbers(v);
        }
      }
      return rows;
    }));
  };

  var INT_CTORS = {
    INT_8: Int8Array, UINT_8: Uint8Array, INT_16: Int16Array, UINT_16: Uint16Array,
    INT_32: Int32Array, UINT_32: Uint32Array,
  };

  /** Typed array constructor for a plain numeric Parquet column, or null (use an Array). */
  function columnCtor(element) {
    var logical = element.logical_type && element.logical_type.type;
    var converted = element.converted_type;
    if (element.type === 'FLOAT' && !logical) return Float32Array;
    if (element.type === 'DOUBLE' && !logical) return Float64Array;
    if (element.type === 'INT64' && (!converted || converted === 'INT_64' || converted === 'UINT_64') &&
        (!logical || logical === 'INTEGER')) return Float64Array; // int64 -> Number
    if (element.type === 'INT32' && (!logical || logical === 'INTEGER')) {
      if (!converted) return Int32Array;
      return INT_CTORS[converted] || null;
    }
    return null;
  }

  /**
   * Join the decoded pages {rowStart, data} of one column into numRows values: a typed array
   * for numeric columns without nulls, else an Array (nulls kept, BigInt -> Number).
   */
  function assemble(chunks, numRows, element) {
    chunks.sort(function (a, b) {
      return a.rowStart - b.rowStart;
    });
    var ctor = columnCtor(element);
    for (var c = 0; ctor && c < chunks.length; c++) {
      var d = chunks[c].data;
      if (ArrayBuffer.isView(d)) continue;
      for (var k = 0; k < d.length; k++) {
        if (d[k] === null || d[k] === undefined) {
          ctor = null;
          break;
        }
      }
    }
    var out = ctor ? new ctor(numRows) : new Array(numRows);
    for (var i = 0; i < chunks.length; i++) {
      var data = chunks[i].data;
      var start = chunks[i].rowStart;
      if (ctor && ArrayBuffer.isView(data) && !(data instanceof BigInt64Array || data instanceof BigUint64Array)) {
        out.set(data, start);
      } else {
        for (var j = 0; j < data.length; j++) out[start + j] = toNumbers(data[j]);
      }
    }
    return out;
  }

  /**
   * Parquet table -> {column: array} (column-oriented, fast). Numeric columns without nulls
   * come back as typed arrays (float -> Float32Array, double and int64 -> Float64Array of
   * Numbers, int32 -> Int32Array); strings, other types and columns holding nulls as Arrays.
   * columns: optional list of column names (default: all top-level columns).
   */
  TFVIS.loadColumns = function (name, columns) {
    return withName(name, TFVIS.loadBytes(name).then(function (buf) {
      var hp = hyparquet();
      var metadata = hp.parquetMetadata(buf);
      var numRows = Number(metadata.num_rows);
      var elements = {};
      var names = hp.parquetSchema(metadata).children.map(function (c) {
        elements[c.element.name] = c.element;
        return c.element.name;
      });
      var wanted = columns ? columns.slice() : names;
      wanted.forEach(function (col) {
        if (names.indexOf(col) === -1) throw new Error('TFVIS: column "' + col + '" not found in "' + name + '"');
      });
      var chunks = {};
      wanted.forEach(function (col) {
        chunks[col] = [];
      });
      return hp.parquetRead({
        file: buf,
        metadata: metadata,
        columns: wanted,
        onChunk: function (chunk) {
          var list = chunks[chunk.columnName];
          if (list) list.push({ rowStart: chunk.rowStart, data: chunk.columnData });
        },
      }).then(function () {
        var out = {};
        wanted.forEach(function (col) {
          out[col] = assemble(chunks[col], numRows, elements[col]);
        });
        return out;
      });
    }));
  };

  // ------------------------------------------------------------------ DOM helper

  var SVG_NS = 'http://www.w3.org/2000/svg';
  var URL_ATTRS = { href: 1, src: 1, action: 1, formaction: 1, xlinkhref: 1, 'xlink:href': 1, poster: 1 };

  function appendChildren(parent, children) {
    for (var i = 0; i < children.length; i++) {
      var child = children[i];
      if (child === null || child === undefined || child === false || child === true) continue;
      if (Array.isArray(child)) {
        appendChildren(parent, child);
      } else if (child instanceof window.Node) {
        parent.appendChild(child);
      } else {
        parent.appendChild(document.createTextNode(String(child)));
      }
    }
  }

  /**
   * TFVIS.el(tag, attrs, ...children): build an element. Strings become text nodes (never
   * parsed as HTML). Tag "svg:NAME" creates an SVG element. attrs:
   *   class / className: class string (or array); style: object or string; dataset: object;
   *   text: textContent; onX: function -> addEventListener('x'); true -> empty attribute;
   *   false / null / undefined -> omitted; anything else -> setAttribute(key, String(value)).
   * javascript: URLs, string event handlers and srcdoc are refused.
   */
  TFVIS.el = function (tag, attrs) {
    var node;
    if (tag.indexOf('svg:') === 0) {
      node = document.createElementNS(SVG_NS, tag.slice(4));
    } else {
      node = document.createElement(tag);
    }
    if (attrs) {
      for (var key in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
        var value = attrs[key];
        if (value === null || value === undefined || value === false) continue;
        var lower = key.toLowerCase();
        if (lower.slice(0, 2) === 'on') {
          if (typeof value !== 'function') throw new Error('TFVIS.el: ' + key + ' must be a function');
          node.addEventListener(lower.slice(2), value);
        } else if (key === 'class' || key === 'className') {
          node.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : String(value));
        } else if (key === 'style') {
          if (typeof value === 'string') node.setAttribute('style', value);
          else {
            for (var prop in value) {
              if (prop.indexOf('-') !== -1) node.style.setProperty(prop, value[prop]);
              else node.style[prop] = value[prop];
            }
          }
        } else if (key === 'dataset') {
          for (var d in value) node.dataset[d] = String(value[d]);
        } else if (key === 'text' || key === 'textContent') {
          node.textContent = String(value);
        } else if (lower === 'innerhtml' || lower === 'outerhtml' || lower === 'srcdoc') {
          throw new Error('TFVIS.el: ' + key + ' is not allowed (use children / text)');
        } else {
          var str = value === true ? '' : String(value);
          // eslint-disable-next-line no-control-regex
          if (URL_ATTRS[lower] && /^\s*(javascript|vbscript|data:text\/html)/i.test(str.replace(/[\u0000-\u001f]/g, ''))) {
            throw new Error('TFVIS.el: refused unsafe URL in ' + key);
          }
          node.setAttribute(key, str);
        }
      }
    }
    appendChildren(node, Array.prototype.slice.call(arguments, 2));
    return node;
  };

  /** Remove all children of a node (the innerHTML-free way to clear it). */
  TFVIS.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  // ------------------------------------------------------------------ URL state

  function parseParams(text, into) {
    var params = new URLSearchParams(text);
    params.forEach(function (value, key) {
      into[key] = value;
    });
    return into;
  }

  /**
   * Current view state: the query string, then the hash (#k=v&...), hash keys winning.
   * Values are strings; a bare "#anchor" is exposed as {"#": "anchor"}.
   */
  TFVIS.query = function () {
    var state = parseParams(window.location.search, {});
    var hash = window.location.hash.replace(/^#/, '');
    if (hash) {
      if (hash.indexOf('=') === -1) state['#'] = decodeURIComponent(hash);
      else parseParams(hash, state);
    }
    return state;
  };

  var lastHref = null;

  /**
   * Merge obj into the view state and write it to the URL query string (?k=v&...; pushState
   * works for same-file URLs on file:// too; the page is never reloaded). State that was in
   * the hash moves to the query; a bare "#anchor" is kept. null/undefined delete a key.
   * push=true adds a history entry (back button returns to the previous view), otherwise
   * the current entry is replaced. Returns the new state.
   */
  TFVIS.setQuery = function (obj, push) {
    var state = TFVIS.query();
    var anchor = state['#'];
    delete state['#'];
    Object.keys(obj || {}).forEach(function (key) {
      var value = obj[key];
      if (value === null || value === undefined) delete state[key];
      else state[key] = String(value);
    });
    var params = new URLSearchParams();
    Object.keys(state).forEach(function (key) {
      params.set(key, state[key]);
    });
    var search = params.toString();
    var url = window.location.pathname + (search ? '?' + search : '') +
      (anchor !== undefined ? '#' + encodeURIComponent(anchor) : '');
    if (new URL(url, window.location.href).href !== window.location.href) {
      if (push) window.history.pushState(state, '', url);
      else window.history.replaceState(state, '', url);
    }
    lastHref = window.location.href;
    return TFVIS.query();
  };

  var stateListeners = [];

  function notifyState() {
    if (window.location.href === lastHref) return; // popstate + hashchange fire together
    lastHref = window.location.href;
    var state = TFVIS.query();
    stateListeners.slice().forEach(function (fn) {
      try {
        fn(state);
      } catch (err) {
        window.setTimeout(function () {
          throw err;
        });
      }
    });
  }

  /**
   * Call fn(state) whenever the view state changes by navigation (back/forward buttons,
   * a hand-edited hash); not for TFVIS.setQuery() calls. Returns an unsubscribe function.
   */
  TFVIS.onState = function (fn) {
    if (lastHref === null) lastHref = window.location.href;
    stateListeners.push(fn);
    return function () {
      var i = stateListeners.indexOf(fn);
      if (i !== -1) stateListeners.splice(i, 1);
    };
  };

  window.addEventListener('popstate', notifyState);
  window.addEventListener('hashchange', notifyState);
})(window);
