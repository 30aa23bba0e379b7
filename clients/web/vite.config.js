import { defineConfig } from 'vite';

export default defineConfig({
  // The JS client (../js, linked) and the extension share one copy of each polkadot.js package.
  resolve: {
    dedupe: ['@polkadot/api', '@polkadot/keyring', '@polkadot/rpc-provider', '@polkadot/types', '@polkadot/util', '@polkadot/util-crypto'],
  },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  server: { host: '127.0.0.1' },
});
