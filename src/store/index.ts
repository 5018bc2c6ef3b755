export { type BatchOp, StoreBatch } from "./batch.js";
export {
  type BlockInfo,
  StoreCorruptError,
  type StoredEpochLink,
  type StoredValidators,
  type TxLocation,
  type UndoData,
  type Validity,
} from "./codec.js";
export { ChainStore, STORE_VERSION, type StoreOptions } from "./store.js";
