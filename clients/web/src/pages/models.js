// Models: hash, specs, fee, verification modes and the executors serving each.

import { h, amount, hash, specText, table } from '../ui.js';
import { state } from '../chain.js';
import { modelSpecs } from '../specs.js';

export async function modelsPage() {
  const { api, token } = state;
  const entries = await api.query.models.models.entries();
  const rows = await Promise.all(entries.map(async ([key, info]) => {
    const model = key.args[0].toHex();
    const m = info.unwrap();
    const servers = await api.query.executors.modelServers(model);
    const modes = Object.entries(m.modes.toJSON()).filter(([, on]) => on).map(([mode]) => mode).join(', ');
    const { inputs, outputs } = modelSpecs(m);
    const active = m.status.isActive;
    return [
      hash(model),
      m.status.type,
      inputs.map(specText).join('; '),
      outputs.map(specText).join('; '),
      amount(m.fee.toBigInt(), token),
      modes,
      servers.length ? servers.map((s) => hash(s.toString())) : '—',
      active ? h('a', { href: `#/submit/${model}` }, 'Submit a job') : '',
    ];
  }));
  return {
    element: h('section', {},
      h('h1', {}, 'Models'),
      h('p', { class: 'muted' }, 'Every model registered on the chain, by content hash. A job runs on the executors serving its model; the fee is per run.'),
      table(['Model', 'Status', 'Inputs', 'Outputs', 'Fee per run', 'Modes', 'Executors', ''], rows, { id: 'models' })),
  };
}
