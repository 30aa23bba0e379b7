// The nodes' session keys: checks that a node holds the listed accounts' `infr` keys
// (`author_hasKey`) and that each is the key registered on chain for an account with the
// given role. Zombienet wrote the node's own key (`//<Name>`) into its keystore at start,
// from `keystore_key_types = ["infr_sr"]` in the network file.
//   "has=Charlie,role=executor"  an executor node
//   "has=Eve,role=verifier"      a verifier node
// Returns the number of keys checked.

async function run(nodeName, networkInfo, args) {
  const lib = await require('./load.cjs')();
  const { haca, assert } = lib;
  const log = lib.logger('keys');
  const opts = Object.fromEntries(args.map((a) => a.split('=')));
  const has = (opts.has ?? '').split('+').filter(Boolean);
  const role = opts.role ?? 'executor';
  assert.ok(['executor', 'verifier'].includes(role), `role ${role}`);
  return lib.withApis(networkInfo, [nodeName], async (api) => {
    for (const name of has) {
      const pair = await haca.devAccount(name);
      const publicKey = `0x${Buffer.from(pair.publicKey).toString('hex')}`;
      const held = (await api.rpc.author.hasKey(publicKey, haca.INFERENCE_KEY_TYPE)).isTrue;
      assert.ok(held, `${nodeName} holds ${name}'s infr key`);
      const info = await api.query.executors.executors(pair.address);
      assert.ok(info.isSome, `${name} is registered (bonded in genesis)`);
      const registered = info.unwrap();
      assert.equal(registered.key.toHex(), publicKey, `${name}'s registered session key is the one in the keystore`);
      assert.ok(registered.roles[role].isTrue, `${name} is registered as ${role}`);
      log(`${nodeName}: holds ${name}'s infr key, registered as ${role} with bond ${lib.haca4(registered.bond.toBigInt())}`);
    }
    return has.length;
  });
}

module.exports = { run };
