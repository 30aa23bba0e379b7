// The HACA web dApp: a hash router over the pages, the connection banner and the account
// selector.

import './style.css';

import { onChange, selectAccount, start, state } from './chain.js';
import { light, onLightChange } from './light.js';
import { executorsPage } from './pages/executors.js';
import { jobPage } from './pages/job.js';
import { jobsPage } from './pages/jobs.js';
import { modelsPage } from './pages/models.js';
import { submitPage } from './pages/submit.js';
import { verifyPage } from './pages/verify.js';
import { h, note } from './ui.js';

const routes = [
  [/^#\/models$/, () => modelsPage()],
  [/^#\/submit\/(0x[0-9a-f]{64})$/, ([model]) => submitPage(model)],
  [/^#\/job\/(\d+)(?:\?from=(\d+))?$/, ([job, from]) => jobPage(Number(job), from && Number(from))],
  [/^#\/executors$/, () => executorsPage()],
  [/^#\/jobs$/, () => jobsPage()],
  [/^#\/verify$/, () => verifyPage()],
];

/** The current page's clean-up (subscriptions), run before the next one renders. */
let leave = null;

async function render() {
  const page = document.getElementById('page');
  leave?.();
  leave = null;
  if (location.hash === '' || location.hash === '#/') location.hash = '#/models';
  const route = routes.find(([pattern]) => pattern.test(location.hash));
  if (!route) {
    page.replaceChildren(note('error', `No page at ${location.hash}.`));
    return;
  }
  if (!state.api && location.hash !== '#/verify') {
    page.replaceChildren(note('muted', `Connecting to ${state.url}…`));
    return;
  }
  try {
    const view = await route[1](route[0].exec(location.hash).slice(1));
    page.replaceChildren(view.element);
    leave = view.leave ?? null;
  } catch (error) {
    page.replaceChildren(h('div', { class: 'card' }, note('error', `This page could not be read from the chain: ${error.message}`)));
  }
}

function renderHeader() {
  const badge = document.getElementById('connection');
  badge.textContent = state.status;
  badge.className = `badge ${state.status}`;
  const banner = document.getElementById('banner');
  banner.hidden = !state.error;
  banner.textContent = state.error ?? '';
  const select = document.getElementById('account');
  select.replaceChildren(...state.accounts.map((a) =>
    h('option', { value: a.address, selected: a.address === state.account?.address }, a.name)));
  if (!state.accounts.length) select.append(h('option', {}, 'no account: install a polkadot{.js} extension'));
}

function renderLight() {
  const badge = document.getElementById('light');
  const text = {
    off: 'light client: off',
    syncing: 'light client: syncing',
    synced: `light client: finalized #${light.finalized?.number}`,
    failed: 'light client: failed',
  };
  badge.textContent = text[light.status];
  badge.className = `badge light-${light.status}`;
  badge.title = light.status === 'failed'
    ? light.error
    : 'smoldot in this page, started from the chain spec: it checks every finalized block\'s GRANDPA justification itself';
}

onLightChange(renderLight);
renderLight();
document.getElementById('account').addEventListener('change', (event) => selectAccount(event.target.value));
window.addEventListener('hashchange', render);
// The first connection renders the page; later ones (after a lost node) leave it as it is:
// the pages follow the connection themselves.
let rendered = false;
onChange(() => {
  renderHeader();
  if (state.status === 'connected' && !rendered) {
    rendered = true;
    render();
  }
});
renderHeader();
render();
start();
