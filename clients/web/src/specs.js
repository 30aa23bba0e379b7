// A model's tensor specs as the pages use them.

import { hexToString } from '@polkadot/util';

/** `{inputs, outputs}` of a model's on-chain info: `{name, type, shape, variableAxes}` each. */
export function modelSpecs(info) {
  const read = (specs) => specs.map((spec) => ({
    name: hexToString(spec.name.toHex()),
    type: spec.elementType.type,
    shape: spec.shape.map((d) => d.toNumber()),
    variableAxes: spec.variableAxes.toNumber(),
  }));
  return { inputs: read(info.inputs), outputs: read(info.outputs) };
}
