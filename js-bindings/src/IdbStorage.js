// IdbStorage: the browser adapter behind local history — Emscripten's IDBFS mounted at /holdfast,
// a Web Lock so only one tab of a profile writes it, and a debounced FS.syncfs with at most one in
// flight. Layer: JS glue, a browser adapter. The core writes its files synchronously into the
// in-memory FS; this adapter only decides when those files reach IndexedDB (syncfs stores each
// changed file whole, so the core keeps sealed segments small and immutable).

const MOUNT = '/holdfast';

/** Resolves/rejects FS.syncfs; the callback always settles the promise. */
function syncfs(FS, populate) {
  return new Promise((resolve, reject) => FS.syncfs(populate, (error) => (error ? reject(error) : resolve())));
}

/** One mount per module instance (the module is shared by every client of a page). */
const mounted = new WeakMap();

async function mount(module) {
  if (!mounted.has(module)) {
    mounted.set(module, (async () => {
      const { FS } = module;
      try { FS.mkdir(MOUNT); } catch { /* exists */ }
      FS.mount(FS.filesystems.IDBFS, {}, MOUNT);
      await syncfs(FS, true);
    })());
  }
  try {
    await mounted.get(module);
  } catch (error) {
    mounted.delete(module);
    throw error;
  }
}

function isQuotaError(error) {
  return error?.name === 'QuotaExceededError' || /quota/i.test(String(error?.message ?? error));
}

/** Removes a directory's content recursively (FS paths, no protocol meaning). */
function removeTree(FS, path) {
  for (const name of FS.readdir(path)) {
    if (name === '.' || name === '..') continue;
    const child = `${path}/${name}`;
    if (FS.isDir(FS.stat(child).mode)) {
      removeTree(FS, child);
      FS.rmdir(child);
    } else {
      FS.unlink(child);
    }
  }
}

export class IdbStorage {
  #module;
  #root;
  #delayMs;
  #timer = null;
  #queued = null;
  #running = null;
  #releaseLock = null;
  #closed = false;
  /** @type {(() => boolean) | null} asked to free space when IndexedDB refuses a write */
  onFull = null;
  /** @type {((error: Error) => void) | null} */
  onError = null;

  /**
   * Takes the profile's storage lock and mounts IDBFS. Throws when IndexedDB is unusable
   * (private mode, blocked storage) or another tab holds the lock: the caller falls back to memory.
   * @param {object} module the loaded core module
   * @param {string} scope one history per relay: a folder name derived from its URL
   * @param {{flushDelayMs?: number}} [options]
   */
  static async open(module, scope, options = {}) {
    if (typeof indexedDB === 'undefined' || !module.FS?.filesystems?.IDBFS) throw new Error('IndexedDB is not available');
    const storage = new IdbStorage(module, `${MOUNT}/${scope}`, options.flushDelayMs ?? 300);
    await storage.#lock(scope);
    try {
      await mount(module);
      try { module.FS.mkdir(storage.#root); } catch { /* exists */ }
    } catch (error) {
      storage.#releaseLock?.();
      throw error;
    }
    return storage;
  }

  /** Deletes every stored history of this page's origin (all relays). */
  static async clearAll(module) {
    if (typeof indexedDB === 'undefined' || !module.FS?.filesystems?.IDBFS) return;
    await mount(module);
    removeTree(module.FS, MOUNT);
    await syncfs(module.FS, false);
  }

  constructor(module, root, delayMs) {
    this.#module = module;
    this.#root = root;
    this.#delayMs = delayMs;
  }

  /** The directory the core keeps its histories in. */
  get root() { return this.#root; }

  /** The core wrote files: sync them within the configured delay. */
  markDirty() {
    if (this.#closed || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush().catch((error) => this.onError?.(error));
    }, this.#delayMs);
  }

  /** Resolves once every write made before the call is in IndexedDB. */
  flush() {
    clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#queued) return this.#queued;
    const previous = this.#running ?? Promise.resolve();
    const run = previous.catch(() => {}).then(() => {
      this.#queued = null;
      this.#running = run;
      return this.#syncOnce().finally(() => { if (this.#running === run) this.#running = null; });
    });
    this.#queued = run;
    return run;
  }

  /** Flushes, then lets another tab take the storage. */
  async close() {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      this.#releaseLock?.();
    }
  }

  async #syncOnce() {
    try {
      await syncfs(this.#module.FS, false);
    } catch (error) {
      // A full quota: evict what the core allows, then try once more.
      if (isQuotaError(error) && this.onFull?.()) return syncfs(this.#module.FS, false);
      throw error;
    }
  }

  async #lock(scope) {
    const locks = globalThis.navigator?.locks;
    if (!locks) throw new Error('Web Locks are not available: cannot guard the shared history');
    const granted = await new Promise((resolve) => {
      locks.request(`holdfast-storage:${scope}`, { ifAvailable: true }, (lock) => {
        if (!lock) { resolve(false); return undefined; }
        resolve(true);
        return new Promise((release) => { this.#releaseLock = release; });
      }).catch(() => resolve(false));
    });
    if (!granted) throw new Error('another tab holds this profile\'s local history');
  }
}
