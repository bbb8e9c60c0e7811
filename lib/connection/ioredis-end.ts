import type { IoredisClient } from './ioredis-types.js';

/**
 * Closes an ioredis connection at once, whatever its state. `disconnect()` alone only half-closes
 * the socket and waits for the server's side of the close, up to `disconnectTimeout` (2 s by
 * default): a stalled server never sends it, so the socket, and a timer that keeps the app's
 * process alive, would outlast the call or the `close()` that gave the connection up.
 */
export function endNow(client: IoredisClient): void {
  if (client.status === 'end') return;
  client.disconnect();
  client.stream?.destroy();
}
