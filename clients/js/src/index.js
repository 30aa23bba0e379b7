// @haca/client: a small JavaScript client of the HACA chain (polkadot.js, ESM). Every call,
// event, error, constant and runtime API is read from the chain's metadata; only receipts,
// checked offline without a node, declare the layouts they decode (receipt.js). See README.md for usage; every export is documented where it is defined.

export * from './connect.js';
export { balanceOf, decodeDispatchError, nextNonce, sendTx, TxError } from './tx.js';
export * from './models.js';
export * from './executors.js';
export * from './jobs.js';
export { latency, waitAssigned, watchJob } from './watch.js';
export * from './api.js';
export * from './tensor.js';
export { readNpy } from './npy.js';
export { readOnnxSpecs, readTensorProto } from './onnx.js';
export { buildReceipt, groupLeafHash, inclusionHolds, merkleRoot, outcomeKey, readProof, ReceiptError, RECEIPT_FORMAT, verifyReceipt } from './receipt.js';
