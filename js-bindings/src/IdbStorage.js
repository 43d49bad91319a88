// IdbStorage: the browser adapter behind local history — Emscripten's IDBFS mounted at /holdfast
// and a debounced FS.syncfs with at most one in flight. Layer: JS glue, a browser adapter. The
// core writes its files synchronously into this tab's in-memory FS; this adapter decides when
// they reach IndexedDB (syncfs stores each changed file whole, so the core keeps sealed segments
// small and immutable). Every tab loads IndexedDB once at start, but only the writer — the
// leader tab — ever syncs back: two tabs' syncfs would delete each other's files.

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
  #closed = false;
  /** Only the leader tab syncs; a follower's writes stay in its memory until it leads. */
  #writer = false;
  /** @type {(() => boolean) | null} asked to free space when IndexedDB refuses a write */
  onFull = null;
  /** @type {((error: Error) => void) | null} */
  onError = null;

  /**
   * Mounts IDBFS and loads it into memory. Throws when IndexedDB is unusable (private mode,
   * blocked storage): the caller falls back to memory.
   * @param {object} module the loaded core module
   * @param {string} scope one history per relay: a folder name derived from its URL
   * @param {{flushDelayMs?: number}} [options]
   */
  static async open(module, scope, options = {}) {
    if (typeof indexedDB === 'undefined' || !module.FS?.filesystems?.IDBFS) throw new Error('IndexedDB is not available');
    const storage = new IdbStorage(module, `${MOUNT}/${scope}`, options.flushDelayMs ?? 300);
    await mount(module);
    try { module.FS.mkdir(storage.#root); } catch { /* exists */ }
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

  /** Whether this tab writes IndexedDB (it leads); becoming the writer syncs what it holds. */
  get writer() { return this.#writer; }
  set writer(value) {
    this.#writer = Boolean(value);
    if (this.#writer) this.markDirty();
  }

  /** The core wrote files: sync them within the configured delay. */
  markDirty() {
    if (this.#closed || !this.#writer || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush().catch((error) => this.onError?.(error));
    }, this.#delayMs);
  }

  /** Resolves once every write made before the call is in IndexedDB (at once for a non-writer). */
  flush() {
    if (!this.#writer) return Promise.resolve();
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

  /** Flushes what this tab wrote, then stops. */
  async close() {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
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

}
