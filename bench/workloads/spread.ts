import { inventoryWorkload } from './inventory.js';

/** Operations spread over 1,000 items: conflicts are rare, round trips dominate. */
export const spread = inventoryWorkload('spread', 1000, 'inventory decrement over 1,000 keys, a random key per op');
