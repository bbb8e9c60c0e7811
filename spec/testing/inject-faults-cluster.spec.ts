import { randomUUID } from 'node:crypto';
import { useRedisCluster } from '../support/redis-cluster';
import { describeFaults } from './fault-scenarios';

const redis = useRedisCluster();

describe('injectFaults on a 3-master Redis Cluster', () => {
  describeFaults(() => ({
    transactor: (options) => Promise.resolve(redis.transactor(options)),
    get: (key) => redis.client.get(key),
    lockKeys: async () => {
      const masters = await Promise.all(redis.cluster.nodes.map((_, i) => redis.cluster.connectNode(i)));
      return (await Promise.all(masters.map((node) => node.keys('rtlock:lock:*')))).flat();
    },
    // A fresh hash tag per call: the keys land on every master in turn.
    keys: () => {
      const tag = `{orders:${randomUUID().slice(0, 8)}}`;
      return [`${tag}:count`, `${tag}:log`];
    },
  }));
});
