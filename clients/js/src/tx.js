// Sending transactions and reading their receipts: events, errors, fees.

/**
 * Decodes a `DispatchError` into its pallet and error name with the metadata.
 * @param {ApiPromise} api
 * @param {import('@polkadot/types/interfaces').DispatchError} dispatchError
 * @returns {{section: string, method: string, docs: string}} E.g.
 *   `{ section: 'jobs', method: 'FeeTooLow', docs: 'The maximum fee is below ...' }`.
 */
export function decodeDispatchError(api, dispatchError) {
  if (dispatchError.isModule) {
    const { section, method, docs } = api.registry.findMetaError(dispatchError.asModule);
    return { section, method, docs: docs.join(' ') };
  }
  if (dispatchError.isToken) return { section: 'token', method: dispatchError.asToken.type, docs: '' };
  if (dispatchError.isArithmetic) {
    return { section: 'arithmetic', method: dispatchError.asArithmetic.type, docs: '' };
  }
  return { section: 'dispatch', method: dispatchError.type, docs: dispatchError.toString() };
}

/**
 * A transaction that was included but whose call failed. `section`/`method` name the
 * pallet error (e.g. `jobs`/`FeeTooLow`); `receipt` has the block, events and fee paid.
 */
export class TxError extends Error {
  /**
   * @param {{section: string, method: string, docs: string}} error The decoded error.
   * @param {Receipt} receipt The failed transaction's receipt.
   */
  constructor(error, receipt) {
    super(`${error.section}.${error.method}${error.docs ? `: ${error.docs}` : ''}`);
    this.name = 'TxError';
    this.section = error.section;
    this.method = error.method;
    // `receipt` (a Receipt) is not enumerable, so that printing the error stays short.
    Object.defineProperty(this, 'receipt', { value: receipt, enumerable: false });
  }
}

/**
 * What a transaction did once in a block.
 * @typedef {object} Receipt
 * @property {string} blockHash Block that includes it.
 * @property {number} blockNumber Its number.
 * @property {Array<{section: string, method: string, data: any}>} events Its events
 *   (`data` is the polkadot.js event data: named fields, `.toJSON()`, `.toHuman()`).
 * @property {bigint} fee Transaction fee paid (`transactionPayment.TransactionFeePaid`,
 *   actual fee plus tip).
 * @property {{section: string, method: string, docs: string}|null} error Why the call
 *   failed, or null.
 */

/**
 * The next nonce of an account, counting its transactions in the pool. To send several
 * transactions from one account without waiting for each, give them consecutive nonces.
 * @param {ApiPromise} api
 * @param {string} address
 * @returns {Promise<number>}
 */
export async function nextNonce(api, address) {
  return (await api.rpc.system.accountNextIndex(address)).toNumber();
}

/**
 * Signs and sends a transaction and waits until it is in a block. Resolves with its
 * receipt; rejects with a {@link TxError} when the call failed (the fee is still paid),
 * or an Error when the pool rejects it or it is not included within `timeoutMs`.
 * @param {ApiPromise} api
 * @param {import('@polkadot/keyring/types').KeyringPair|{address: string, signer: import('@polkadot/types/types').Signer}} signer
 *   A keyring pair, or an extension's account with its injected signer.
 * @param {import('@polkadot/api/types').SubmittableExtrinsic<'promise'>} tx
 * @param {{nonce?: number, timeoutMs?: number}} [options] `nonce` defaults to the next.
 * @returns {Promise<Receipt>}
 */
export function sendTx(api, signer, tx, { nonce = -1, timeoutMs = 120_000 } = {}) {
  const name = `${tx.method.section}.${tx.method.method}`;
  // A browser extension's account signs through its injected signer.
  const [account, options] = signer.signer ? [signer.address, { nonce, signer: signer.signer }] : [signer, { nonce }];
  return settleOnce(timeoutMs, `${name} not in a block within ${timeoutMs} ms`, ({ resolve, reject }) =>
    tx.signAndSend(account, options, (result) => {
      const { status } = result;
      if (status.isInBlock) {
        receipt(api, status.asInBlock, result).then((r) => (r.error ? reject(new TxError(r.error, r)) : resolve(r)), reject);
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        reject(new Error(`${name}: transaction ${status.type}`));
      }
    }),
  );
}

/**
 * A promise that a subscription settles once. `subscribe({ resolve, reject, isDone })` starts
 * the work and returns the promise of its unsubscribe function (as polkadot.js subscriptions
 * do); the first of `resolve`, `reject`, a failed subscription or `timeoutMs` settles the
 * promise, unsubscribes, and makes the rest do nothing.
 * @template T
 * @param {number} timeoutMs
 * @param {string} timeoutMessage The error's message on time-out.
 * @param {(settle: {resolve: (value: T) => void, reject: (error: Error) => void, isDone: () => boolean}) => Promise<() => void>} subscribe
 * @returns {Promise<T>}
 */
export function settleOnce(timeoutMs, timeoutMessage, subscribe) {
  return new Promise((resolve, reject) => {
    let unsubscribe;
    let done = false;
    const finish = (settle, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (unsubscribe) unsubscribe();
      settle(value);
    };
    const timer = setTimeout(() => finish(reject, new Error(timeoutMessage)), timeoutMs);
    subscribe({ resolve: (value) => finish(resolve, value), reject: (error) => finish(reject, error), isDone: () => done })
      .then((unsub) => {
        unsubscribe = unsub;
        if (done) unsub();
      })
      .catch((error) => finish(reject, error));
  });
}

export async function receipt(api, blockHash, result) {
  const header = await api.rpc.chain.getHeader(blockHash);
  const events = result.events.map(({ event }) => ({ section: event.section, method: event.method, data: event.data }));
  const feePaid = events.find((e) => e.section === 'transactionPayment' && e.method === 'TransactionFeePaid');
  const fee = feePaid ? feePaid.data.actualFee.toBigInt() + feePaid.data.tip.toBigInt() : 0n;
  return {
    blockHash: blockHash.toHex(),
    blockNumber: header.number.toNumber(),
    events,
    fee,
    error: result.dispatchError ? decodeDispatchError(api, result.dispatchError) : null,
  };
}

/** The first event `section.method` of a receipt. */
export function eventOf(receipt, section, method) {
  return receipt.events.find((e) => e.section === section && e.method === method);
}

/**
 * Free, reserved (held: bonds, deposits, job escrow) and total balance of an account.
 * @param {ApiPromise} api
 * @param {string} address
 * @param {string} [at] Block hash; the best block by default.
 * @returns {Promise<{free: bigint, reserved: bigint, total: bigint}>}
 */
export async function balanceOf(api, address, at) {
  const query = at ? (await api.at(at)).query : api.query;
  const { data } = await query.system.account(address);
  const free = data.free.toBigInt();
  const reserved = data.reserved.toBigInt();
  return { free, reserved, total: free + reserved };
}
