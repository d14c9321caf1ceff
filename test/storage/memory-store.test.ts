import { MemoryStore } from '../../src/storage/index.js';
import { storeCompliance } from './store-compliance.js';

storeCompliance('MemoryStore', {
  async open(t, opts = {}) {
    const store = new MemoryStore(t.info, { poolBytes: opts.poolBytes, files: opts.initial });
    return {
      store,
      stored: async (i) => store.fileData(i),
      cleanup: () => store.close(),
    };
  },
});
