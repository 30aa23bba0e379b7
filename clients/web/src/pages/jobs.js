// The selected account's jobs: those still open, and those among the chain's most recently
// ended (`jobs.MaxOutcomes`). Older ones live only in events: an indexer keeps them.

import * as haca from '@haca/client';

import { onChange, state } from '../chain.js';
import { amount, h, hash, note, table } from '../ui.js';

export async function jobsPage() {
  const { api, token } = state;
  const body = h('div');
  async function render() {
    const me = state.account?.address;
    if (!me) return body.replaceChildren(note('error', 'No account selected.'));
    const [open, ended] = await Promise.all([api.query.jobs.jobs.entries(), api.query.jobs.outcomes.entries()]);
    const mode = (m) => (m.isAttested ? 'Attested' : `Quorum ${m.asQuorum.agree} of ${m.asQuorum.of}`);
    const rows = [
      ...open.filter(([, j]) => j.unwrap().client.toString() === me).map(([key, j]) => {
        const job = key.args[0].toNumber();
        return [job, h('a', { href: `#/job/${job}` }, `Job ${job}`), hash(j.unwrap().model.toHex()), mode(j.unwrap().mode), j.unwrap().status.type, amount(j.unwrap().maxFee.toBigInt(), token)];
      }),
      ...ended.filter(([, o]) => o.unwrap().client.toString() === me).map(([key, o]) => {
        const job = key.args[0].toNumber();
        const end = o.unwrap().end;
        const paid = end.isSettled ? amount(end.asSettled.paid.toBigInt(), token) : '—';
        return [job, h('a', { href: `#/job/${job}` }, `Job ${job}`), hash(o.unwrap().model.toHex()), mode(o.unwrap().mode), `${end.type} at #${o.unwrap().endedAt}`, paid];
      }),
    ].sort((a, b) => b[0] - a[0]).map((row) => row.slice(1));
    body.replaceChildren(rows.length
      ? table(['Job', 'Model', 'Mode', 'Status', 'Fee'], rows, { id: 'my-jobs' })
      : note('muted', `${state.account.name} has no open or recently ended job.`));
    return undefined;
  }
  await render();
  const leave = onChange(() => render().catch(() => {}));
  return {
    element: h('section', {},
      h('h1', {}, 'My jobs'),
      h('p', { class: 'muted' }, `Open jobs, and those among the chain's ${api.consts.jobs.maxOutcomes} most recently ended. Older ones: their settlement.Settled, jobs.Failed and jobs.Cancelled events (an indexer keeps them).`),
      body),
    leave,
  };
}
