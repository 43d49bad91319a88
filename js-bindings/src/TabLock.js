// TabLock: the leader lock of a browser profile's tabs, over Web Locks. Layer: JS glue, a browser
// adapter. It only reports what the browser says (acquired, lost) and does what it is told (try,
// queue, steal, release); which tab should lead is the core's tab_coordinator's decision.
// Web Locks are released when a tab dies, which is the failover signal; a frozen tab keeps its
// lock, which is why the coordinator may ask to steal it.

export class TabLock {
  #name;
  #held = false;
  #release = null;
  #closed = false;
  /** Withdraws a queued request when the client closes. */
  #queued = new AbortController();
  /** @type {(() => void) | null} */
  onAcquired = null;
  /** @type {(() => void) | null} called when a held lock is stolen or released */
  onLost = null;

  /** @param {string} name */
  constructor(name) {
    this.#name = name;
  }

  get held() { return this.#held; }

  /** Takes the lock if nobody holds it. @returns {Promise<boolean>} */
  tryAcquire() {
    return new Promise((resolve) => {
      navigator.locks.request(this.#name, { ifAvailable: true }, (lock) => {
        if (!lock) { resolve(false); return undefined; }
        resolve(true);
        return this.#hold();
      }).catch(() => { resolve(false); this.#lost(); });
    });
  }

  /** Queues for the lock; onAcquired fires when it is ours. */
  request() {
    if (this.#held || this.#closed) return;
    navigator.locks.request(this.#name, { signal: this.#queued.signal }, () => this.#take()).catch(() => this.#lost());
  }

  /** Takes the lock from a holder that stopped answering (frozen tabs keep theirs). */
  steal() {
    if (this.#held || this.#closed) return;
    navigator.locks.request(this.#name, { steal: true }, () => this.#take()).catch(() => this.#lost());
  }

  /**
   * The client closed: the lock goes, and a request still queued is withdrawn. Left queued, it
   * would be granted later and held by a client that no longer leads, and no tab could lead.
   */
  close() {
    this.#closed = true;
    this.#queued.abort();
    this.release();
  }

  /** Gives the lock up (e.g. entering the back/forward cache); onLost is not called. */
  release() {
    if (!this.#held) return;
    this.#held = false;
    this.#release?.();
  }

  #take() {
    if (this.#closed) return undefined;  // granted as it closed: given straight back
    const hold = this.#hold();
    this.onAcquired?.();
    return hold;
  }

  #hold() {
    this.#held = true;
    return new Promise((resolve) => { this.#release = resolve; });
  }

  // A held lock's request promise rejects when another tab steals it.
  #lost() {
    if (!this.#held) return;
    this.#held = false;
    this.onLost?.();
  }
}
