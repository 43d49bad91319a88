// IdbStorage: the browser adapter behind local history — Emscripten's IDBFS mounted at /holdfast
// and a debounced sync with at most one in flight. Layer: JS glue, a browser adapter. The core
// writes its files synchronously into this tab's in-memory FS; this adapter decides when they
// reach IndexedDB (each changed file is stored whole, so the core keeps sealed segments small and
// immutable). Every tab loads IndexedDB once at start, but only the writer — the leader tab —
// ever syncs back: two tabs' syncs would delete each other's files.
//
// A lead starts with a whole copy, which makes IndexedDB a copy of this tab's files as IDBFS's
// syncfs would (it walks every file and every stored key). After that, a sync copies only the
// paths the core reports changed (Core.takeChangedFiles); a failed copy makes the next one whole.
// When the page is hidden into the back/forward cache or unloaded, the last copy's transaction is
// created before the lock goes (flushBeforeLeaving), which orders it before the next leader's.
// The records are IDBFS's, but the reads and writes are this file's: in an ES module IDBFS's
// IndexedDB handlers throw where they should report an error, and its callbacks never come.

const MOUNT = '/holdfast';

// IDBFS's database layout (library_idbfs.js): one database named after the mount point, one
// store of records keyed by path — {timestamp, mode} for a folder, and contents for a file —
// indexed by timestamp. Kept as is, so histories already stored load, and IDBFS could load ours.
const DB_VERSION = 21;
const STORE = 'FILE_DATA';

/** The page's connection to that database (one per page, as IDBFS's cache had). */
let databasePromise = null;
/** The same connection once open: a last copy must create its transaction synchronously. */
let openDatabase = null;

/**
 * Opens the database. Not IDBFS.getDB: in an ES module its error handler throws instead of
 * calling back, so a refused open (private modes, blocked storage) hung connect() forever.
 */
function database() {
  databasePromise ??= new Promise((resolve, reject) => {
    let request;
    try {
      request = indexedDB.open(MOUNT, DB_VERSION);
    } catch (error) {
      reject(error);
      return;
    }
    request.onupgradeneeded = () => {
      const db = request.result;
      const store = db.objectStoreNames.contains(STORE) ? request.transaction.objectStore(STORE) : db.createObjectStore(STORE);
      if (!store.indexNames.contains('timestamp')) store.createIndex('timestamp', 'timestamp', { unique: false });
    };
    request.onsuccess = () => {
      const db = request.result;
      openDatabase = db;
      db.onclose = () => { if (openDatabase === db) openDatabase = null; };
      resolve(db);
    };
    request.onerror = (event) => {
      event?.preventDefault?.();
      reject(request.error ?? new Error('IndexedDB refused to open'));
    };
  });
  databasePromise.catch(() => { databasePromise = null; });
  return databasePromise;
}

/** Walks a cursor over the store in one read-only transaction; settles when the walk is done. */
async function eachStored(openCursor, visit) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction([STORE], 'readonly');
    transaction.oncomplete = () => resolve();
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
    const request = openCursor(transaction.objectStore(STORE));
    request.onsuccess = () => {
      const at = request.result;
      if (!at) return;
      visit(at);
      at.continue();
    };
  });
}

/** Every record of the store, [path, record], in path order (a folder before what it holds). */
async function storedRecords() {
  const records = [];
  await eachStored((store) => store.openCursor(), (at) => records.push([String(at.key), at.value]));
  return records.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Every key of the store with its record's time (ms), read from the index (no contents). */
async function storedTimes() {
  const times = new Map();
  await eachStored((store) => store.index('timestamp').openKeyCursor(),
    (at) => times.set(String(at.primaryKey), at.key instanceof Date ? at.key.getTime() : Number(at.key)));
  return times;
}

/** The paths in a folder of the in-memory FS. */
function childrenOf(FS, dir) {
  return FS.readdir(dir).filter((name) => name !== '.' && name !== '..').map((name) => `${dir}/${name}`);
}

/**
 * Loads IndexedDB into the in-memory FS, as IDBFS's populate does (folders, then files with their
 * mode and time). A record that cannot be placed (a file whose folder has no record) is skipped:
 * the history's own load then judges what is there, instead of the whole load failing.
 */
async function populate(FS) {
  for (const [path, record] of await storedRecords()) {
    try {
      if (FS.isDir(record.mode)) FS.mkdirTree(path, record.mode);
      else if (FS.isFile(record.mode)) FS.writeFile(path, record.contents, { canOwn: true });
      else continue;
      FS.chmod(path, record.mode);
      FS.utime(path, record.timestamp, record.timestamp);
    } catch { /* skipped, see above */ }
  }
}

/** One mount per module instance (the module is shared by every client of a page). */
const mounted = new WeakMap();

/** Modules whose FS has the mount (a failed load is retried without mounting twice). */
const hasMount = new WeakSet();

async function mount(module) {
  if (!mounted.has(module)) {
    mounted.set(module, (async () => {
      const { FS } = module;
      if (!hasMount.has(module)) {
        try { FS.mkdir(MOUNT); } catch { /* exists */ }
        FS.mount(FS.filesystems.IDBFS, {}, MOUNT);  // IDBFS's mount is MEMFS's: the files live in memory
        hasMount.add(module);
      }
      await populate(FS);
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
 * Copies `paths` from the in-memory FS to IDBFS's database in one transaction, in IDBFS's record
 * format: each one that exists stored, with every folder above it (a file whose folder has no
 * record would make IDBFS's next load fail), each one that is gone deleted. IDBFS's own request
 * handlers are not used: in an ES module their `this.error` throws instead of reporting.
 */
function copyToIndexedDb(module, paths) {
  return database().then((db) => writeToIndexedDb(db, module, paths));
}

/** copyToIndexedDb into an open database: the transaction exists when this returns. */
function writeToIndexedDb(db, module, paths) {
  const { FS } = module;
  const IDBFS = FS.filesystems.IDBFS;
  const exists = (path) => { try { FS.stat(path); return true; } catch { return false; } };
  const stored = new Set();
  const removed = [];
  for (const path of paths) {
    if (!exists(path)) { removed.push(path); continue; }
    for (let p = path; p.length > MOUNT.length && p.startsWith(`${MOUNT}/`); p = p.slice(0, p.lastIndexOf('/'))) stored.add(p);
  }
  return new Promise((resolve, reject) => {
    let failure = null;
    let transaction = null;
    try {
      transaction = db.transaction([STORE], 'readwrite');
      transaction.oncomplete = () => resolve();
      transaction.onabort = () => reject(failure ?? transaction.error ?? new Error('IndexedDB transaction aborted'));
      const store = transaction.objectStore(STORE);
      const watch = (request) => { request.onerror = () => { failure ??= request.error; }; };
      for (const path of removed) watch(store.delete(path));
      for (const path of stored) {
        IDBFS.loadLocalEntry(path, (error, entry) => {
          if (error) throw error;
          watch(store.put(entry, path));
        });
      }
      // Every request is queued (loadLocalEntry calls back at once): committed now rather than
      // when this task ends, so a copy made as the page goes is in before its connection closes.
      transaction.commit?.();
    } catch (error) {
      failure ??= error;
      if (!transaction) return reject(error);
      try { transaction.abort(); } catch { /* already finished: onabort or oncomplete settles */ }
    }
  });
}

/**
 * Makes IndexedDB a copy of the in-memory FS under the mount, as IDBFS's syncfs does (every path
 * whose time differs stored, every key with no file deleted), but one that always settles: on a
 * failed write IDBFS's never calls back (its handlers throw, and it has no abort handler).
 * `proceed()` is asked again once IndexedDB has been read, just before the write transaction is
 * created: false (the tab stopped leading meanwhile) writes nothing and returns false.
 */
async function copyAll(module, proceed = () => true) {
  const local = localTimes(module.FS);
  const stored = await storedTimes();
  const paths = [];
  for (const [path, time] of local) if (stored.get(path) !== time) paths.push(path);
  for (const path of stored.keys()) if (!local.has(path)) paths.push(path);
  const db = openDatabase ?? await database();
  if (!proceed()) return false;
  if (paths.length) await writeToIndexedDb(db, module, paths.sort());
  return true;
}

/** Every path under the mount in the in-memory FS, with its time (ms). */
function localTimes(FS) {
  const local = new Map();
  const walk = (dir) => {
    for (const path of childrenOf(FS, dir)) {
      const stat = FS.stat(path);
      local.set(path, stat.mtime.getTime());
      if (FS.isDir(stat.mode)) walk(path);
    }
  };
  walk(MOUNT);
  return local;
}

function isQuotaError(error) {
  return error?.name === 'QuotaExceededError' || /quota/i.test(String(error?.message ?? error));
}

/** Removes a directory's content recursively (FS paths, no protocol meaning). */
function removeTree(FS, path) {
  for (const child of childrenOf(FS, path)) {
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
  /** The next sync is a whole copy (copyAll): at the start of a lead, and after a failed sync. */
  #whole = true;
  /** Paths the core changed that the next (partial) sync copies. */
  #changed = new Set();
  /** The sync under way: a whole copy, or these paths (it may still fail). */
  #inFlight = null;
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
    await copyAll(module);
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

  /**
   * Another tab cleared IndexedDB: nothing of this tab's is written any more (close() then
   * flushes nothing), whatever it still had to copy is forgotten.
   */
  discard() {
    this.#writer = false;
    this.#whole = false;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#changed.clear();
  }

  /** Drops this client's files from memory (after discard(), once its core is gone). */
  forget() {
    try { removeTree(this.#module.FS, this.#root); } catch { /* nothing there */ }
  }

  /** The core is going away: what it changed last stays for the final flush. */
  detach() {
    this.#collect();
    this.#source = null;
    this.onFull = null;  // it would ask the deleted core to evict
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
      // Stopped leading while queued: the next leader may be writing already (flushBeforeLeaving
      // made this tab's last copy), and this tab's next lead starts with a whole copy.
      if (!this.#writer) return undefined;
      this.#running = run;
      return this.#syncOnce().finally(() => { if (this.#running === run) this.#running = null; });
    });
    this.#queued = run;
    return run;
  }

  /**
   * The last copy before this tab may stop leading (the page is hidden into the back/forward
   * cache, or unloaded): what it changed, and the paths of a sync still under way (which may yet
   * fail), in one transaction created before this returns. IndexedDB runs read-write transactions
   * on one store in the order they were created, so whatever the next leader writes after it
   * takes the lock comes after this copy, even while a sync of this tab is still under way:
   * flush() would queue behind that sync, and start after the next leader's writes.
   * A whole copy owed or under way cannot be made so (it reads IndexedDB first, and a copy without
   * its deletions could bring removed files back): flush() then, whose copy writes nothing once
   * this tab has stopped leading; the next leader's own first copy is a whole one. Before the
   * database is open there is nothing to order against either.
   */
  flushBeforeLeaving() {
    if (!this.#writer) return Promise.resolve();
    if (!openDatabase) return this.flush();
    if (this.#whole || this.#inFlight?.whole) {
      // The outbox, at least, goes now: the core's producer file holds the publishes the relay has
      // not acknowledged, which (unlike history) nothing can give back after a reload. One whole
      // file in a transaction created before this returns; it cannot bring removed files back.
      this.#collect();
      const outbox = [...this.#changed].filter((path) => path.endsWith('/producer'));
      const early = outbox.length ? writeToIndexedDb(openDatabase, this.#module, outbox) : Promise.resolve();
      return Promise.all([early, this.flush()]).then(() => undefined);
    }
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#collect();
    const paths = [...new Set([...this.#changed, ...(this.#inFlight?.paths ?? [])])];
    this.#changed.clear();
    return writeToIndexedDb(openDatabase, this.#module, paths.sort()).catch((error) => {
      this.#whole = true;  // what failed is in memory only
      throw error;
    });
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
    this.#whole = false;  // a lead starting meanwhile sets it again
    // A whole copy writes only while this tab still leads, checked once it has read IndexedDB.
    const leading = () => this.#writer;
    this.#inFlight = { whole, paths };
    try {
      if (whole) {
        if (!(await copyAll(this.#module, leading))) this.#whole = true;
      } else if (paths.length) {
        await copyToIndexedDb(this.#module, paths);
      }
    } catch (error) {
      // What failed is in memory only: a whole copy puts it right.
      this.#whole = true;
      // A full quota: evict what the core allows, then try once more.
      if (isQuotaError(error) && this.onFull?.()) {
        this.#collect();
        this.#changed.clear();
        this.#whole = false;
        this.#inFlight = { whole: true, paths: [] };
        try {
          if (!(await copyAll(this.#module, leading))) this.#whole = true;
        } catch (retryError) {
          this.#whole = true;
          throw retryError;
        }
        return;
      }
      throw error;
    } finally {
      this.#inFlight = null;
    }
  }

}
