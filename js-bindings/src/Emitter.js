// Emitter: the small event-listener base shared by Holdfast and Session. Layer: JS glue.
// A listener that throws must not abort the batch being delivered (later listeners and later
// events would be lost), so its exception is rethrown on a fresh task where the host reports it.

/** Named events with on/off/emit. */
export class Emitter {
  /**
   * Each name's listeners in the order added. A list is replaced on every on/off, never changed in
   * place, so emit walks the list it found (as a snapshot would) without copying it per event:
   * a spread of a Set per emit was an allocation and an iterator for every event delivered.
   * @type {Map<string, Function[]>}
   */
  #listeners = new Map();

  /**
   * Adds a listener (once: adding it again changes nothing).
   * @param {string} name
   * @param {Function} listener
   * @returns {() => void} a function that removes this listener
   */
  on(name, listener) {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const list = this.#listeners.get(name);
    if (!list) this.#listeners.set(name, [listener]);
    else if (!list.includes(listener)) this.#listeners.set(name, [...list, listener]);
    return () => this.off(name, listener);
  }

  /**
   * Removes a listener added with on().
   * @param {string} name
   * @param {Function} listener
   */
  off(name, listener) {
    const list = this.#listeners.get(name);
    if (!list?.includes(listener)) return;
    const rest = list.filter((f) => f !== listener);
    if (rest.length) this.#listeners.set(name, rest);
    else this.#listeners.delete(name);
  }

  /** @protected @param {string} name @param {unknown} [value] @returns {boolean} whether anyone listened */
  emit(name, value) {
    const list = this.#listeners.get(name);
    if (list === undefined) return false;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i](value);
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
    return this.#listeners.get(name)?.length ?? 0;
  }

  /** @protected Drops every listener (on close). */
  removeAllListeners() {
    this.#listeners.clear();
  }
}
