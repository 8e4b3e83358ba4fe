// rocksdb-native ships no type declarations; src/state/rocks-store.ts types the part weir uses.
declare module 'rocksdb-native' {
  const RocksDB: unknown;
  export default RocksDB;
}
