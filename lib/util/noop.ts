/** Does nothing: the handler of a promise whose failure has nobody left to tell. */
export const noop = (): void => {};
