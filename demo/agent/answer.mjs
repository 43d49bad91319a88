// The demo agent's simulated LLM: a deterministic answer derived from the prompt, split into
// word tokens. Layer: demo. Deterministic so the e2e tests can predict every streamed word; the
// agent and the tests import this one module rather than repeating the text.

const MAX_QUOTED = 120;

/**
 * The full answer text for a prompt (about 60-80 words).
 * @param {string} prompt
 * @returns {string}
 */
export function composeAnswer(prompt) {
  const clean = String(prompt).replace(/\s+/g, ' ').trim();
  const quoted = clean.length > MAX_QUOTED ? `${clean.slice(0, MAX_QUOTED)}…` : clean;
  const words = [...new Set(clean.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [])].slice(0, 8);
  const topic = words.length > 0 ? words.join(', ') : 'nothing in particular';
  return `You asked: "${quoted}". This is a simulated answer from the Holdfast demo agent. ` +
    `Each word reaches you as its own event, stored by the relay under a serial number, ` +
    `so a reload or a dropped link resumes exactly where it stopped and nothing is shown twice. ` +
    `The words I noticed were ${topic}. ` +
    `No real model wrote this; the text follows from your prompt so that tests can predict it. ` +
    `Thanks for trying Holdfast.`;
}

/**
 * The answer as streamed tokens: each word with its trailing space, so joining them gives back
 * composeAnswer(prompt) exactly.
 * @param {string} prompt
 * @returns {string[]}
 */
export function answerTokens(prompt) {
  return composeAnswer(prompt).match(/\S+\s*/g) ?? [];
}
