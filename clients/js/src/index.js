// @haca/client: a small JavaScript client of the HACA chain (polkadot.js, ESM).
// See README.md for usage; every export is documented where it is defined.

export * from './client.js';
export * from './tensor.js';
export { readNpy } from './npy.js';
export { readOnnxSpecs } from './onnx.js';
