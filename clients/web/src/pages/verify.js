// Verify a receipt file (downloaded from a job's page, or written by the JS client) in the
// browser, without any node: against the chain spec's trust anchor built into the page.

import * as haca from '@haca/client';

import anchor from '../anchor.json';
import { h, note } from '../ui.js';
import { lightCheck } from './light-check.js';

export function verifyPage() {
  const result = h('div', { id: 'verify-result' });
  const input = h('input', {
    type: 'file', accept: '.json', id: 'receipt-file',
    onchange: async (event) => {
      const file = event.target.files[0];
      if (!file) return;
      let receipt;
      try {
        receipt = JSON.parse(await file.text());
      } catch {
        result.replaceChildren(note('error', `${file.name} is not JSON: not a receipt.`));
        return;
      }
      try {
        const verified = await haca.verifyReceipt(receipt, anchor);
        result.replaceChildren(
          h('p', { class: 'ok', id: 'verify-status' }, `Receipt verified: job ${verified.job} settled with outputs ${verified.outputHash}`),
          h('p', { class: 'muted' }, `Final: block #${verified.block[0]} (justification of #${verified.finalized[0]}). Executors: ${verified.executors.join(', ')}.`),
          h('ul', { class: 'checks' }, lightCheck(receipt, verified.block[0])));
      } catch (error) {
        result.replaceChildren(h('p', { class: 'error', id: 'verify-status' }, `The receipt does not verify: ${error.message}`));
      }
    },
  });
  return {
    element: h('section', {},
      h('h1', {}, 'Verify a receipt'),
      h('p', {}, `Checked here, in this browser, against the chain whose genesis is ${anchor.genesisHash} and its GRANDPA authorities (from the chain spec, not from a node): the block's finality, the job's outcome in its state, the outputs' hash and the executors' signatures.`),
      input, result),
  };
}
