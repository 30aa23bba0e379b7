// Executors and verifiers: roles, bond, reputation, load and the models each runs.

import { state } from '../chain.js';
import { amount, h, hash, table } from '../ui.js';

export async function executorsPage() {
  const { api, token } = state;
  const entries = await api.query.executors.executors.entries();
  const rows = entries.map(([key, info]) => {
    const e = info.unwrap();
    const roles = [e.roles.executor.isTrue && 'executor', e.roles.verifier.isTrue && 'verifier'].filter(Boolean).join(', ');
    return [
      hash(key.args[0].toString()),
      roles,
      amount(e.bond.toBigInt(), token),
      amount(e.atStake.toBigInt(), token),
      String(e.reputation.toNumber()),
      `${e.activeJobs.toNumber()} / ${e.capacity.toNumber()}`,
      e.models.length ? e.models.map((m) => hash(m.toHex())) : '—',
      e.unbondingUntil.isSome ? `unbonding until #${e.unbondingUntil.unwrap()}` : '',
    ];
  });
  return {
    element: h('section', {},
      h('h1', {}, 'Executors and verifiers'),
      h('p', { class: 'muted' }, 'Executors run jobs for the models they serve; verifiers audit results and challenge lies. Both put a bond at stake.'),
      table(['Account', 'Roles', 'Bond', 'At stake', 'Reputation', 'Jobs / capacity', 'Models', ''], rows, { id: 'executors' })),
  };
}
