/**
 * The minimal ACL of docs/security.md, verbatim: what redis-transact itself needs on a data node.
 * The application adds its own keys and data commands.
 */
export const LIBRARY_ACL =
  '~rtlock:* &rtlock:* ~rtonce:* -@all +hello +watch +unwatch +multi +exec +mget ' +
  '+evalsha +eval +script|load +ssubscribe +sunsubscribe ' +
  '+time +get +set +del +exists +pttl +pexpire +hget +hset +zadd +zrem +zrange +zrangebyscore +zscore +spublish';

/**
 * What node-redis's Sentinel client needs on each Sentinel (docs/security.md): the discovery
 * commands, and the Sentinel's event channels it subscribes to by pattern.
 */
export const SENTINEL_DISCOVERY_ACL = '-@all +hello +sentinel|master +sentinel|replicas +sentinel|sentinels +psubscribe +punsubscribe allchannels';
