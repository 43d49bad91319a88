// Types of the `holdfast/react` entry (react.js). Hand-written; keep in step with its JSDoc.
import type { ReactNode, ReactElement } from 'react';
import type { AgentPresence, ControlOutcome, Holdfast, HoldfastMessage, Session, SessionState } from './holdfast.js';

export interface HoldfastProviderProps {
  /** A connected client, or null while connecting. */
  client: Holdfast | null;
  children?: ReactNode;
}

/** Makes a client available to useSession(null, id) and useHoldfast(). */
export function HoldfastProvider(props: HoldfastProviderProps): ReactElement;

/** The nearest HoldfastProvider's client (null when none). */
export function useHoldfast(): Holdfast | null;

export interface UseSessionResult {
  /** The session handle (null until there is a client). */
  session: Session | null;
  messages: readonly HoldfastMessage[];
  state: SessionState;
  lastSerial: number;
  agents: readonly AgentPresence[];
  /** Whether the newest message is still being written. */
  streaming: boolean;
  prompt(text: string, options?: { msgId?: string }): Promise<number>;
  cancel(target?: string): Promise<ControlOutcome>;
  steer(target: string, text: string): Promise<ControlOutcome>;
  interrupt(target: string, text: string): Promise<ControlOutcome>;
}

/**
 * Follows session `id` of `hf` (or of the HoldfastProvider's client when `hf` is null/undefined),
 * re-rendering on every change through useSyncExternalStore.
 */
export function useSession(hf: Holdfast | null | undefined, id: string): UseSessionResult;
