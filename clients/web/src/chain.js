// The connection to a node and the accounts that sign: the page's shared state.
//
// The node is `?rpc=ws://...` (default ws://127.0.0.1:9944). While it is unreachable the
// page says so, sends nothing, and reconnects by itself; every page reads the chain anew
// once it is back. Accounts: the browser extension's (polkadot{.js} and compatible, through
// @polkadot/extension-dapp) and, on a development chain, the development accounts. Once
// connected, the page starts its light client (light.js; `?light=off` does not), which
// learns from the node only where to find a peer.

import * as haca from '@haca/client';
import { web3Accounts, web3Enable, web3FromSource } from '@polkadot/extension-dapp';

import { startLight, webSocketAddresses } from './light.js';

const DEV_ACCOUNTS = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

export const state = {
  url: new URLSearchParams(location.search).get('rpc') ?? 'ws://127.0.0.1:9944',
  api: null,
  /** `connecting`, `connected` or `disconnected`. */
  status: 'connecting',
  error: null,
  /** The token's `decimals` and `symbol`. */
  token: { decimals: 12, symbol: 'UNIT' },
  /** Signing accounts: `{ address, name, signer }` (a key pair, or `{ address, signer }`). */
  accounts: [],
  account: null,
};

const listeners = new Set();

/** Calls `listener` whenever the connection or the account changes; returns the undo. */
export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed() {
  for (const listener of listeners) listener(state);
}

/** Connects, retrying every 2 s until the node answers; then follows the connection. */
export async function start() {
  for (;;) {
    try {
      state.api = await haca.connect(state.url, { timeoutMs: 10_000 });
      break;
    } catch (error) {
      state.status = 'disconnected';
      state.error = `cannot reach the node at ${state.url} (${error.message}); retrying`;
      changed();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
  const { api } = state;
  const properties = await api.rpc.system.properties();
  state.token = {
    decimals: properties.tokenDecimals.unwrapOr([12])[0]?.toNumber?.() ?? 12,
    symbol: properties.tokenSymbol.unwrapOr(['UNIT'])[0]?.toString?.() ?? 'UNIT',
  };
  api.on('disconnected', () => {
    state.status = 'disconnected';
    state.error = `lost the connection to ${state.url}; reconnecting (nothing is sent meanwhile)`;
    changed();
  });
  api.on('connected', () => {
    state.status = 'connected';
    state.error = null;
    changed();
  });
  await loadAccounts();
  state.status = 'connected';
  state.error = null;
  changed();
  const params = new URLSearchParams(location.search);
  if (params.get('light') !== 'off') {
    const listening = await api.rpc.system.localListenAddresses().then((list) => list.map(String), () => []);
    startLight([...webSocketAddresses(listening), ...params.getAll('bootnode')]);
  }
}

async function loadAccounts() {
  const accounts = [];
  const extensions = await web3Enable('HACA').catch(() => []);
  if (extensions.length) {
    for (const account of await web3Accounts()) {
      const { signer } = await web3FromSource(account.meta.source);
      accounts.push({ address: account.address, name: `${account.meta.name ?? 'account'} (${account.meta.source})`, signer: { address: account.address, signer } });
    }
  }
  const chainType = await state.api.rpc.system.chainType();
  if (chainType.isDevelopment || chainType.isLocal) {
    for (const name of DEV_ACCOUNTS) {
      const pair = await haca.devAccount(name);
      accounts.push({ address: pair.address, name: `${name} (development)`, signer: pair });
    }
  }
  state.accounts = accounts;
  const wanted = new URLSearchParams(location.search).get('account');
  state.account = accounts.find((a) => a.name.startsWith(wanted ?? '\0')) ?? accounts[0] ?? null;
}

/** Selects the account with `address`. */
export function selectAccount(address) {
  state.account = state.accounts.find((a) => a.address === address) ?? null;
  changed();
}

/** Whether transactions can be sent now (connected, with an account). */
export function canSend() {
  return state.status === 'connected' && state.account !== null;
}
