// HoldfastError: the one error type the SDK rejects and emits with, carrying the numeric code
// shared with the C++ core (errc.hpp) and its stable name. Layer: JS glue. Codes are never copied
// into JS by hand: names come from the core's errorCodes() table or from the core's own reports.

/** A failure reported by the core or the relay. */
export class HoldfastError extends Error {
  /**
   * @param {number} code numeric code shared with the C++ core
   * @param {string} name stable lower_snake name, e.g. 'closed', 'forbidden'
   * @param {string} [message] human-readable detail
   */
  constructor(code, name, message) {
    super(message || name);
    /** @type {number} */
    this.code = code;
    /** @type {string} */
    this.name = name;
  }

  /**
   * Builds an error from a {code, name, message} object as the core reports it.
   * @param {{code: number, name: string, message?: string}} report
   */
  static from(report) {
    return new HoldfastError(report.code, report.name, report.message);
  }

  /**
   * Builds an error for a code known by name only (e.g. 'closed'), looking its number up in the
   * core's table.
   * @param {Record<string, number>} codes the core's errorCodes()
   * @param {string} name
   * @param {string} [message]
   */
  static named(codes, name, message) {
    return new HoldfastError(codes[name] ?? -1, name, message);
  }
}
