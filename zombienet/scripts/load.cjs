// Loads lib.mjs (ES module) from the CommonJS scripts zombienet requires. The HACA client
// brings its own @polkadot/* packages (clients/js/node_modules), newer than the ones inside
// zombienet; both sets live in this process by design, so the "multiple versions" notice
// polkadot.js prints when the second set loads is dropped (other warnings pass through).
module.exports = async function load() {
  const warn = console.warn;
  console.warn = (...args) => {
    const text = typeof args[0] === 'string' ? args[0] : '';
    if (/has multiple versions, ensure that there is only one installed|requires direct dependencies exactly matching/.test(text)) return;
    warn(...args);
  };
  try {
    return await import('./lib.mjs');
  } finally {
    console.warn = warn;
  }
};
