/**
 * A call's options, validated on every `transact` call. Most calls pass none, or a few flags
 * (`{ mode: 'lock' }`, `{ idempotent: true }`); zod's parse of the whole options schema costs
 * about as much as the rest of the call's own work, so those flags are read here directly, and
 * everything else (any other option, a value of another type, an object that is not plain, a
 * Proxy, a getter that throws) goes through the schema, which names the field and the reason.
 */
import { types } from 'node:util';
import { transactOptionsSchema, type TransactOptions } from '../transactor-options.js';
import { parseInput } from './parse-input.js';

type ParsedCallOptions = ReturnType<typeof transactOptionsSchema.parse>;

/** The modes, as the schema names them. */
const MODES: ReadonlySet<unknown> = new Set(transactOptionsSchema.shape.mode.unwrap().options);

/** The flags read here, and the values each takes (exactly what the schema accepts for them). */
const FLAGS: Readonly<Record<string, (value: unknown) => boolean>> = {
  mode: (value) => value === undefined || MODES.has(value),
  idempotent: isFlag,
  exactlyOnce: isFlag,
};

function isFlag(value: unknown): boolean {
  return value === true || value === false || value === undefined;
}

/**
 * `options` as the schema parses it: the same result, or the same {@link InvalidOptionsError}.
 * @internal
 */
export function parseCallOptions(options: TransactOptions): ParsedCallOptions {
  return flagsOnly(options) ?? parseInput(transactOptionsSchema, options, 'options');
}

/** The options when they are a plain object of valid flags only (a copy, as zod makes), else `undefined`. */
function flagsOnly(options: unknown): ParsedCallOptions | undefined {
  // A Proxy's traps may answer otherwise, or throw, when the schema reads each option by name.
  if (typeof options !== 'object' || options === null || types.isProxy(options)) return undefined;
  const parsed: Record<string, unknown> = {};
  try {
    const proto = Object.getPrototypeOf(options) as unknown;
    if (proto !== Object.prototype && proto !== null) return undefined;
    for (const key of Object.keys(options)) {
      const valid = Object.hasOwn(FLAGS, key) ? FLAGS[key]! : undefined;
      const value = (options as Record<string, unknown>)[key];
      if (!valid?.(value)) return undefined;
      parsed[key] = value;
    }
  } catch {
    return undefined; // a getter or Proxy trap that throws: the schema reports it
  }
  return parsed;
}
