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

/** Splits text into streamed word tokens (each with its trailing space). */
export function tokensOf(text) {
  return String(text).match(/\S+\s*/g) ?? [];
}

/**
 * What the agent streams instead of the rest of its answer after a steer: deterministic, so a
 * test can check that the steer changed the rest of the answer.
 * @param {string} direction the steer's text
 */
export function composeSteered(direction) {
  return `[steered: ${String(direction).trim()}] Understood, changing course as you asked. ` +
    'The remaining words follow the new direction until the answer ends.';
}

/** Whether a prompt asks for the multi-agent team ("team: …"). */
export function isTeamPrompt(text) {
  return /^\s*team:/i.test(String(text));
}

/**
 * One team member's part of the answer to a team prompt.
 * @param {'researcher' | 'writer'} role
 * @param {string} prompt
 */
export function composeTeamPart(role, prompt) {
  const topic = String(prompt).replace(/^\s*team:\s*/i, '').trim() || 'the question';
  return role === 'researcher'
    ? `Researcher here. Notes on ${topic}: three sources agree, one disagrees, and the evidence ` +
      'is strongest where the sessions stayed durable across every reconnect.'
    : `Writer here. A short draft about ${topic}: durable sessions keep every word, every tab ` +
      'sees the same answer, and a stop from any surface stops the agent at once.';
}
