// IdbStorage: the browser adapter behind local history — Emscripten's IDBFS mounted at /holdfast
// and a debounced sync with at most one in flight. Layer: JS glue, a browser adapter. The core
// writes its files synchronously into this tab's in-memory FS; this adapter decides when they
// reach IndexedDB (each changed file is stored whole, so the core keeps sealed segments small and
// immutable). Every tab loads IndexedDB once at start, but only the writer — the leader tab —
// ever syncs back: two tabs' syncs would delete each other's files.
//
// A lead starts with IDBFS's own syncfs, which makes IndexedDB a copy of this tab's files (it
// walks every file and every stored key). After that, a sync copies only the paths the core
// reports changed (Core.takeChangedFiles), in IDBFS's record format, so loading stays IDBFS's;
// a failed copy makes the next sync a whole one again.

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

/**
 * Copies `paths` from the in-memory FS to IDBFS's database in one transaction: each one that
 * exists as IDBFS would store it, each one that is gone deleted. Not IDBFS's own request
 * handlers: they swallow a failed write (preventDefault) and the transaction commits anyway.
 */
function copyToIndexedDb(module, paths) {
  const { FS } = module;
  const IDBFS = FS.filesystems.IDBFS;
  return new Promise((resolve, reject) => {
    IDBFS.getDB(MOUNT, (openError, db) => {
      if (openError) return reject(openError);
      let failure = null;
      let transaction;
      try {
        transaction = db.transaction([IDBFS.DB_STORE_NAME], 'readwrite');
        transaction.oncomplete = () => resolve();
        transaction.onabort = () => reject(failure ?? transaction.error ?? new Error('IndexedDB transaction aborted'));
        const store = transaction.objectStore(IDBFS.DB_STORE_NAME);
        const failed = (request) => { request.onerror = () => { failure ??= request.error; }; };
        for (const path of paths) {
          let exists = true;
          try { FS.stat(path); } catch { exists = false; }
          if (!exists) {
            failed(store.delete(path));
            continue;
          }
          IDBFS.loadLocalEntry(path, (error, entry) => {
            if (error) throw error;
            failed(store.put(entry, path));
          });
        }
      } catch (error) {
        failure ??= error;
        try { transaction?.abort(); } catch { /* already finished */ }
        if (!transaction) reject(error);
      }
    });
  });
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
  /** The next sync copies everything (syncfs): at the start of a lead, and after a failed sync. */
  #whole = true;
  /** Paths the core changed that the next (partial) sync copies. */
  #changed = new Set();
  /** @type {(() => string[]) | null} the core's Core.takeChangedFiles, until detach() */
  #source = null;
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
    if (value && !this.#writer) this.#whole = true;
    this.#writer = Boolean(value);
    if (this.#writer) this.markDirty();
  }

  /** Where the changed paths come from: the core's takeChangedFiles. */
  attach(takeChangedFiles) { this.#source = takeChangedFiles; }

  /** The core is going away: what it changed last stays for the final flush. */
  detach() {
    this.#collect();
    this.#source = null;
  }

  #collect() {
    for (const path of this.#source?.() ?? []) this.#changed.add(path);
  }

  /** The core wrote files: sync them within the configured delay. */
  markDirty() {
    if (!this.#writer) {
      // A follower's files reach IndexedDB with the whole sync that starts its lead.
      this.#source?.();
      return;
    }
    if (this.#closed || this.#timer !== null) return;
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
    this.#collect();
    const paths = [...this.#changed].sort();
    this.#changed.clear();
    const whole = this.#whole;
    this.#whole = false;
    try {
      if (whole) await syncfs(this.#module.FS, false);
      else if (paths.length) await copyToIndexedDb(this.#module, paths);
    } catch (error) {
      // What failed is in memory only: a whole sync puts it right.
      this.#whole = true;
      // A full quota: evict what the core allows, then try once more.
      if (isQuotaError(error) && this.onFull?.()) {
        this.#collect();
        this.#changed.clear();
        await syncfs(this.#module.FS, false);
        this.#whole = false;
        return;
      }
      throw error;
    }
  }

}
