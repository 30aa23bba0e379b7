// The light client's word on a verified receipt, for the job and verify pages: does the
// chain it follows itself (smoldot, from the chain spec) hold the same outcome?

import { confirmOutcome, light } from '../light.js';
import { h } from '../ui.js';

/** A list item that fills in once the light client has read `receipt`'s outcome. */
export function lightCheck(receipt, endedAt) {
  const item = h('li', { id: 'light-check', class: 'muted' }, light.status === 'off' || light.status === 'failed'
    ? `light client: not running${light.error ? ` (${light.error})` : ''}; the checks above stand on the receipt's own proofs`
    : 'light client: waiting to verify a block at or after the job\'s…');
  if (light.status === 'off' || light.status === 'failed') return item;
  confirmOutcome(receipt.job, receipt.outcome, endedAt).then(
    ({ agreed, block }) => {
      item.className = agreed === false ? 'error' : agreed ? 'ok' : 'muted';
      item.textContent = agreed === null
        ? `light client: the outcome has left the chain's ring of recent outcomes by block #${block.number}`
        : agreed
          ? `light client: finalized block #${block.number}, verified in this page from the chain spec, holds the same outcome (no node trusted)`
          : `light client: finalized block #${block.number} holds another outcome for job ${receipt.job}`;
    },
    (error) => {
      item.textContent = `light client: could not read the outcome (${error.message})`;
    });
  return item;
}
