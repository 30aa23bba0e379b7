// A reader for NumPy `.npy` files (format versions 1 to 3), enough for the reference
// inputs and outputs the project ships (`offchain-workers/models/*.npy`).

import { u8aToU8a } from '@polkadot/util';

import { elementCount, encodeTensors, tensorFromBytes } from './tensor.js';

/** NumPy dtype descriptors (little-endian or byte-order free) and their element types. */
const DESCRS = {
  '<f4': 'F32',
  '<f8': 'F64',
  '|i1': 'I8',
  '|u1': 'U8',
  '<i2': 'I16',
  '<i4': 'I32',
  '<i8': 'I64',
  '|b1': 'Bool',
  '<u2': 'U16',
  '<u4': 'U32',
  '<u8': 'U64',
  '<f2': 'F16',
};

/**
 * The strings of a NumPy fixed-width string array (`<Un`: n UTF-32 code units; `|Sn`: n bytes
 * of UTF-8), their NUL padding removed.
 */
function fixedWidthStrings(data, count, unicode, width) {
  const size = unicode ? 4 * width : width;
  if (data.length !== count * size) throw new Error(`${data.length} data bytes for ${count} strings of ${size} bytes`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: count }, (_, i) => {
    let string;
    if (unicode) {
      const units = Array.from({ length: width }, (__, j) => view.getUint32(i * size + 4 * j, true));
      string = String.fromCodePoint(...units);
    } else {
      string = new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(i * size, (i + 1) * size));
    }
    return string.replace(/\0+$/, '');
  });
}

/**
 * Reads a `.npy` file into a tensor (C order, little-endian dtypes of the element types, or
 * fixed-width strings `<U` and `|S`; NumPy has no bfloat16 dtype).
 * @param {Uint8Array} file The file's bytes (e.g. `fs.readFileSync(path)`).
 * @returns {import('./tensor.js').Tensor} The array; `data` is the typed array of its
 *   element type.
 */
export function readNpy(file) {
  const bytes = u8aToU8a(file);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new Error('not a .npy file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const [headerLen, headerStart] = major === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12];
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, headerStart + headerLen),
  );
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  const strings = /^(<U|\|S)(\d+)$/.exec(descr ?? '');
  const type = strings ? 'String' : DESCRS[descr];
  if (!type) throw new Error(`unsupported dtype ${descr} (supported: ${Object.keys(DESCRS).join(' ')} <U |S)`);
  if (fortran !== 'False') throw new Error('Fortran-ordered arrays are not supported');
  if (shapeText === undefined) throw new Error('no shape in the .npy header');
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const data = bytes.subarray(headerStart + headerLen);
  if (strings) {
    const tensor = { type, shape, data: fixedWidthStrings(data, elementCount(shape), strings[1] === '<U', Number(strings[2])) };
    encodeTensors([tensor]); // checks the lengths
    return tensor;
  }
  return tensorFromBytes(type, shape, data);
}
