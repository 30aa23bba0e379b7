// A restarted node catches up.
//   "mark"  (before the node is stopped): remembers its best block.
//   "check" (after the restart): waits until its best block reaches the best block Alice
//           had when the check began, it finalises as far as Alice had, it is no longer
//           syncing, and it is on the same chain (same hash at that height); checks that it
//           really missed blocks while down. Returns the blocks it imported since "mark".
// Run on the restarted node; Alice is the reference.

async function run(nodeName, networkInfo, args) {
  const lib = await require('./load.cjs')();
  const { assert } = lib;
  const log = lib.logger('caught-up');
  const mode = args[0] || 'check';
  const reference = 'alice';
  if (mode === 'mark') {
    return lib.withApis(networkInfo, [nodeName], async (node) => {
      const best = await lib.bestBlock(node);
      lib.saveState(networkInfo, `caught-up-${nodeName}`, { best: best.number });
      log(`${nodeName}: best #${best.number} before going down`);
      return best.number;
    });
  }
  const { best: before } = lib.loadState(networkInfo, `caught-up-${nodeName}`);
  return lib.withApis(networkInfo, [nodeName, reference], async (node, ref) => {
    const target = await lib.bestBlock(ref);
    const targetFinal = await lib.finalizedBlock(ref);
    assert.ok(target.number >= before + 10, `${nodeName} was down for at least 10 blocks (#${before} -> #${target.number})`);
    const restartedAt = await lib.bestBlock(node);
    log(`${nodeName}: best #${restartedAt.number} after restart (was #${before}); ${reference}: best #${target.number}, finalised #${targetFinal}`);
    for (;;) {
      const best = await lib.bestBlock(node);
      const final = await lib.finalizedBlock(node);
      const health = await node.rpc.system.health();
      if (best.number >= target.number && final >= targetFinal && !health.isSyncing.isTrue) {
        const hashHere = (await node.rpc.chain.getBlockHash(targetFinal)).toHex();
        const hashThere = (await ref.rpc.chain.getBlockHash(targetFinal)).toHex();
        assert.equal(hashHere, hashThere, `same block #${targetFinal} on ${nodeName} and ${reference}`);
        log(`${nodeName}: caught up: best #${best.number}, finalised #${final}, ${health.peers.toNumber()} peers, ` +
          `same chain as ${reference}; imported ${best.number - before} blocks since going down`);
        return best.number - before;
      }
      await lib.sleep(1_000);
    }
  });
}

module.exports = { run };
