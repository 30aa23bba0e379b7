// Who ran inference, from each node's Prometheus endpoint. The inference engine (and its
// `haca_inference_*` metrics) exists only on nodes started with --executor or --verifier:
//  - validators (no role flag): no `haca_inference_*` metric at all, i.e. no engine and no run;
//  - executors: `haca_inference_runs_total` >= 1, no failures;
//  - the verifier: `haca_inference_runs_total` >= 1 (its audits), no failures.
// Args: "validators=alice+bob,executors=charlie+dave,verifiers=eve" (these by default).
// Returns the number of nodes checked.

async function run(nodeName, networkInfo, args) {
  const lib = await require('./load.cjs')();
  const { assert } = lib;
  const log = lib.logger('roles');
  const roles = { validators: ['alice', 'bob'], executors: ['charlie', 'dave'], verifiers: ['eve'] };
  for (const arg of args) {
    const [role, names] = arg.split('=');
    assert.ok(role in roles, `unknown role ${role}`);
    roles[role] = names ? names.split('+').filter(Boolean) : [];
  }
  let checked = 0;
  for (const name of roles.validators) {
    const text = await lib.metricsText(networkInfo, name);
    assert.ok(lib.metricValue(text, 'block_height') !== null, `${name}: metrics are served`);
    const lines = text.split('\n').filter((l) => l.includes('haca_inference'));
    assert.deepEqual(lines, [], `${name} (validator) has no inference engine metrics`);
    log(`${name} (validator): no haca_inference_* metric: the node never ran inference`);
    checked += 1;
  }
  for (const name of [...roles.executors, ...roles.verifiers]) {
    const text = await lib.metricsText(networkInfo, name);
    const runs = lib.metricValue(text, 'haca_inference_runs_total');
    const failures = lib.metricValue(text, 'haca_inference_failures_total') ?? 0;
    assert.ok(runs !== null, `${name}: haca_inference_runs_total is served`);
    assert.ok(runs >= 1, `${name}: ran inference (haca_inference_runs_total = ${runs})`);
    assert.equal(failures, 0, `${name}: no inference failures`);
    log(`${name}: haca_inference_runs_total = ${runs}, failures = ${failures}`);
    checked += 1;
  }
  return checked;
}

module.exports = { run };
