/*
 * Parquet tables of the data folder, read with the vendored hyparquet (window.hyparquet, from
 * assets/vendor/hyparquet.min.js, loaded by the page before its bundle).
 */
import { loadBytes, withName } from './bytes.js';

function hyparquet() {
  const hp = window.hyparquet;
  if (!hp || typeof hp.parquetRead !== 'function') {
    throw new Error('TFVIS: window.hyparquet is missing; include assets/vendor/hyparquet.min.js before the page script');
  }
  return hp;
}

/** BigInt -> Number, recursively through arrays and plain objects (lists, structs). */
export function toNumbers(value) {
  if (typeof value === 'bigint') return Number(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof BigInt64Array || value instanceof BigUint64Array) return Float64Array.from(value, Number);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = toNumbers(value[i]);
    return value;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const key in value) {
      if (Object.prototype.hasOwnProperty.call(value, key)) value[key] = toNumbers(value[key]);
    }
  }
  return value;
}

/**
 * Parquet table -> array of row objects {column: value}. int64 becomes Number.
 * options: {columns: [...], rowStart, rowEnd} are passed to hyparquet.
 */
export function loadTable(name, options) {
  return withName(name, loadBytes(name).then((buf) => {
    const opts = Object.assign({}, options || {}, { file: buf });
    return hyparquet().parquetReadObjects(opts);
  }).then((rows) => {
    for (const row of rows) {
      for (const key in row) {
        const v = row[key];
        if (v !== null && (typeof v === 'bigint' || typeof v === 'object')) row[key] = toNumbers(v);
      }
    }
    return rows;
  }));
}

const INT_CTORS = {
  INT_8: Int8Array, UINT_8: Uint8Array, INT_16: Int16Array, UINT_16: Uint16Array,
  INT_32: Int32Array, UINT_32: Uint32Array,
};

/** Typed array constructor for a plain numeric Parquet column, or null (use an Array). */
function columnCtor(element) {
  const logical = element.logical_type && element.logical_type.type;
  const converted = element.converted_type;
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

function hasNull(chunks) {
  return chunks.some((c) => !ArrayBuffer.isView(c.data) && c.data.some((v) => v === null || v === undefined));
}

/**
 * Join the decoded pages {rowStart, data} of one column into numRows values: a typed array
 * for numeric columns without nulls, else an Array (nulls kept, BigInt -> Number).
 */
function assemble(chunks, numRows, element) {
  chunks.sort((a, b) => a.rowStart - b.rowStart);
  let ctor = columnCtor(element);
  if (ctor && hasNull(chunks)) ctor = null;
  const out = ctor ? new ctor(numRows) : new Array(numRows);
  for (const { data, rowStart } of chunks) {
    if (ctor && ArrayBuffer.isView(data) && !(data instanceof BigInt64Array || data instanceof BigUint64Array)) {
      out.set(data, rowStart);
    } else {
      for (let j = 0; j < data.length; j++) out[rowStart + j] = toNumbers(data[j]);
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
export function loadColumns(name, columns) {
  return withName(name, loadBytes(name).then((buf) => {
    const hp = hyparquet();
    const metadata = hp.parquetMetadata(buf);
    const numRows = Number(metadata.num_rows);
    const elements = {};
    const names = hp.parquetSchema(metadata).children.map((c) => {
      elements[c.element.name] = c.element;
      return c.element.name;
    });
    const wanted = columns ? columns.slice() : names;
    wanted.forEach((col) => {
      if (names.indexOf(col) === -1) throw new Error('TFVIS: column "' + col + '" not found in "' + name + '"');
    });
    const chunks = {};
    wanted.forEach((col) => {
      chunks[col] = [];
    });
    return hp.parquetRead({
      file: buf,
      metadata,
      columns: wanted,
      onChunk(chunk) {
        const list = chunks[chunk.columnName];
        if (list) list.push({ rowStart: chunk.rowStart, data: chunk.columnData });
      },
    }).then(() => {
      const out = {};
      wanted.forEach((col) => {
        out[col] = assemble(chunks[col], numRows, elements[col]);
      });
      return out;
    });
  }));
}
