// Entry for assets/vendor/hyparquet.min.js (classic IIFE script).
// Exposes window.hyparquet = every export of hyparquet (browser build):
// parquetRead, parquetReadObjects, parquetMetadata, parquetMetadataAsync, parquetSchema,
// parquetQuery, parquetScan, rowIndex, readColumnIndex, readOffsetIndex, snappyUncompress,
// asyncBufferFromUrl, byteLengthFromUrl, cachedAsyncBuffer, flatten, toJson.
// Snappy (the default Parquet codec of pyarrow) is built into hyparquet itself.
export * from 'hyparquet';
