import type { ShardedSubscriber } from './release-notifier.js';
import type { ScriptClient } from './run-script.js';

/** The connections a topology lends its locks. @internal */
export interface LockConnections {
  /** Runs lock scripts (routed by their first key on a cluster); opened on first use. */
  commands(): Promise<ScriptClient>;
  /** Receives release notifications (sharded pub/sub); opened on first use. */
  subscriber(): Promise<ShardedSubscriber>;
  /** Puts the lock scripts in the script cache of every server that may run them. */
  loadScripts(sources: readonly string[]): Promise<void>;
  /** Closes what `commands` and `subscriber` opened. */
  close(): Promise<void>;
}
