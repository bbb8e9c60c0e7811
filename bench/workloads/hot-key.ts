import { inventoryWorkload } from './inventory.js';

/** Every operation fights over one item: the worst case for optimistic concurrency. */
export const hotKey = inventoryWorkload('hot-key', 1, 'inventory decrement on ONE key (read stock, if > 0 decrement and count the order)');
