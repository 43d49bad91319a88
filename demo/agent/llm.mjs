// An OpenAI-compatible chat-completions stream as text pieces, for the demo agent's optional real
// LLM. Layer: demo. Only the streaming subset every compatible server speaks is used: POST
// {base}/chat/completions with stream:true, Server-Sent Events whose `data:` lines carry
// choices[0].delta.content, ending with `data: [DONE]`. Cancel is the AbortSignal.
//
// Configuration (environment): HOLDFAST_LLM_URL — the API base, e.g. https://api.openai.com/v1 or
// http://127.0.0.1:11434/v1 (Ollama); HOLDFAST_LLM_API_KEY (or OPENAI_API_KEY), optional for local
// servers; HOLDFAST_LLM_MODEL (default gpt-4o-mini). Unset URL: the simulator answers.

/** @returns {{url: string, apiKey: string, model: string} | null} */
export function llmConfigFromEnv(env = process.env) {
  const url = env.HOLDFAST_LLM_URL?.trim();
  if (!url) return null;
  return {
    url: url.replace(/\/+$/, ''),
    apiKey: env.HOLDFAST_LLM_API_KEY ?? env.OPENAI_API_KEY ?? '',
    model: env.HOLDFAST_LLM_MODEL ?? 'gpt-4o-mini',
  };
}

/**
 * Streams one chat completion. Yields the content pieces as they arrive; throws on an HTTP error
 * (with the server's message), on a malformed stream, or with an AbortError when `signal` aborts.
 * @param {{url: string, apiKey: string, model: string}} config
 * @param {{role: string, content: string}[]} messages
 * @param {{signal?: AbortSignal}} [options]
 * @returns {AsyncGenerator<string>}
 */
export async function* streamChatCompletion(config, messages, { signal } = {}) {
  const headers = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`;
  const response = await fetch(`${config.url}/chat/completions`, {
    method: 'POST', headers, signal,
    body: JSON.stringify({ model: config.model, messages, stream: true }),
  });
  if (!response.ok || !response.body) {
    const detail = (await response.text().catch(() => '')).slice(0, 300);
    throw new Error(`LLM endpoint answered ${response.status}: ${detail}`);
  }
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of response.body) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).replace(/\r$/, '');
      buffered = buffered.slice(newline + 1);
      if (!line.startsWith('data:')) continue;  // comments, event names, blank separators
      const data = line.slice(5).trim();
      if (data === '[DONE]') return;
      let parsed;
      try {
        parsed = JSON.parse(data);
      } catch {
        throw new Error(`LLM stream: not JSON: ${data.slice(0, 100)}`);
      }
      if (parsed.error) throw new Error(`LLM stream error: ${parsed.error.message ?? JSON.stringify(parsed.error)}`);
      const piece = parsed.choices?.[0]?.delta?.content;
      if (typeof piece === 'string' && piece.length > 0) yield piece;
    }
  }
}
