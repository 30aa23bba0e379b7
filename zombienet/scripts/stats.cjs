// Figures of a suite, from the whole chain (blocks 1 to best on the node it runs on): jobs
// submitted, settled, failed, re-assigned, results, challenges, disputes and slashes, and
// jobs settled per minute of chain time. Writes them to `<suite>.json` in $ZN_RESULTS_DIR
// (run.sh sets it) and checks the expectations passed as args:
//   "suite=jobs,settled>=14,challenged=0,slashed=0"  (operators: =, >=, <=)
// Returns the number of jobs settled.

async function run(nodeName, networkInfo, args) {
  const lib = await require('./load.cjs')();
  const { assert } = lib;
  const { writeFileSync } = require('node:fs');
  const log = lib.logger('stats');
  let suite = 'suite';
  const expectations = [];
  for (const arg of args) {
    const m = /^(\w+)(>=|<=|=)(.*)$/.exec(arg.trim());
    assert.ok(m, `bad expectation ${arg}`);
    if (m[1] === 'suite') suite = m[3];
    else expectations.push({ key: m[1], op: m[2], value: Number(m[3]) });
  }
  return lib.withApis(networkInfo, [nodeName], async (api) => {
    const best = await lib.finalBlock(api);
    const counts = {
      submitted: 0, assigned: 0, reassigned: 0, deadlineMissed: 0, results: 0, quorumRounds: 0,
      settled: 0, failed: 0, challenged: 0, disputesResolved: 0, slashed: 0,
    };
    const names = {
      'jobs.Submitted': 'submitted', 'jobs.Assigned': 'assigned', 'jobs.DeadlineMissed': 'deadlineMissed',
      'settlement.ResultSubmitted': 'results', 'settlement.RevealOpened': 'quorumRounds', 'settlement.Settled': 'settled',
      'jobs.Failed': 'failed', 'settlement.Challenged': 'challenged', 'settlement.DisputeResolved': 'disputesResolved',
      'executors.Slashed': 'slashed',
    };
    let firstSettle = null;
    let lastSettle = null;
    const times = {};
    for (let n = 1; n <= best.number; n++) {
      const hash = await api.rpc.chain.getBlockHash(n);
      const at = await api.at(hash);
      const records = await at.query.system.events();
      for (const { event } of records) {
        const key = names[`${event.section}.${event.method}`];
        if (!key) continue;
        counts[key] += 1;
        if (key === 'assigned' && event.data.attempt.toNumber() > 1) counts.reassigned += 1;
        if (key === 'settled') {
          firstSettle ??= n;
          lastSettle = n;
        }
      }
      if (n === 1 || n === best.number) times[n] = (await at.query.timestamp.now()).toNumber();
    }
    const minutes = (times[best.number] - times[1]) / 60_000;
    const figures = {
      suite,
      blocks: best.number,
      chainMinutes: Number(minutes.toFixed(2)),
      ...counts,
      settledPerChainMinute: Number((counts.settled / minutes).toFixed(2)),
      firstSettleBlock: firstSettle,
      lastSettleBlock: lastSettle,
    };
    writeFileSync(lib.resultsPath(networkInfo, `${suite}.json`), `${JSON.stringify(figures, null, 2)}\n`);
    log(JSON.stringify(figures));
    for (const { key, op, value } of expectations) {
      const actual = figures[key];
      assert.ok(actual !== undefined, `unknown figure ${key}`);
      const ok = op === '=' ? actual === value : op === '>=' ? actual >= value : actual <= value;
      assert.ok(ok, `${key} ${op} ${value} (is ${actual})`);
    }
    return counts.settled;
  });
}

module.exports = { run };
