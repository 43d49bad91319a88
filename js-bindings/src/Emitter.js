// Emitter: the small event-listener base shared by Holdfast and Session. Layer: JS glue.
// A listener that throws must not abort the batch being delivered (later listeners and later
// events would be lost), so its exception is rethrown on a fresh task where the host reports it.

/** Named events with on/off/emit. */
export class Emitter {
  /** @type {Map<string, Set<Function>>} */
  #listeners = new Map();

  /**
   * Adds a listener.
   * @param {string} name
   * @param {Function} listener
   * @returns {() => void} a function that removes this listener
   */
  on(name, listener) {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => this.off(name, listener);
  }

  /**
   * Removes a listener added with on().
   * @param {string} name
   * @param {Function} listener
   */
  off(name, listener) {
    this.#listeners.get(name)?.delete(listener);
  }

  /** @protected @param {string} name @param {unknown} [value] @returns {boolean} whether anyone listened */
  emit(name, value) {
    const set = this.#listeners.get(name);
    if (!set || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        listener(value);
      } catch (error) {
        setTimeout(() => { throw error; }, 0);
      }
    }
    return true;
  }

  /**
   * @param {string} name
   * @returns {number} how many listeners `name` has
   */
  listenerCount(name) {
    return this.#listeners.get(name)?.size ?? 0;
  }

  /** @protected Drops every listener (on close). */
  removeAllListeners() {
    this.#listeners.clear();
  }
}
