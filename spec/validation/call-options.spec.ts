import { InvalidOptionsError } from '../../lib';
import { transactOptionsSchema } from '../../lib/transactor-options';
import { parseCallOptions } from '../../lib/validation/call-options';
import { parseInput } from '../../lib/validation/parse-input';

/** What the schema itself makes of `input`: its output, or its error's issues. */
function bySchema(input: unknown): unknown {
  try {
    return { ok: parseInput(transactOptionsSchema, input, 'options') };
  } catch (err) {
    return { refused: (err as InvalidOptionsError).issues };
  }
}

function byCallOptions(input: unknown): unknown {
  try {
    return { ok: parseCallOptions(input as never) };
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionsError);
    return { refused: (err as InvalidOptionsError).issues };
  }
}

const MODES = ['optimistic', 'lock', 'auto', undefined, 'LOCK', 'pessimistic', 1, null];
const FLAGS = [true, false, undefined, 'true', 0, 1, null];

describe('call options: the flags read without the schema', () => {
  it('give what the schema gives for every combination of mode, idempotent and exactlyOnce, valid or not', () => {
    let compared = 0;
    for (const mode of MODES) {
      for (const idempotent of FLAGS) {
        for (const exactlyOnce of FLAGS) {
          const input = { mode, idempotent, exactlyOnce };
          expect(byCallOptions(input)).toEqual(bySchema(input));
          const sparse = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
          expect(byCallOptions(sparse)).toEqual(bySchema(sparse));
          compared += 2;
        }
      }
    }
    expect(compared).toBe(MODES.length * FLAGS.length * FLAGS.length * 2);
  });

  it.each([
    ['an unknown option', { mode: 'lock', modes: 'lock' }, true],
    ['a bad option beside the flags', { mode: 'lock', retry: { maxAttempts: 0 } }, true],
    ['a valid option beside the flags', { mode: 'lock', retry: { maxAttempts: 3 } }, false],
    ['an array', ['lock'], true],
    ['a class instance', new (class Options { mode = 'lock'; })(), false],
    ['a string', 'lock', true],
    ['null', null, true],
    ['a Proxy whose get trap throws', new Proxy({}, { get: () => { throw new Error('boom'); } }), true],
    ['a Proxy over valid flags', new Proxy({ mode: 'lock' }, {}), false],
  ])('leave %s to the schema (refused: %s)', (_what, input, refused) => {
    expect(byCallOptions(input)).toEqual(bySchema(input));
    expect(Object.keys(byCallOptions(input) as object)).toEqual([refused ? 'refused' : 'ok']);
  });

  it('report a getter that throws as the schema does (options: could not be read)', () => {
    const input = {
      get mode(): string {
        throw new Error('boom');
      },
    };
    expect(byCallOptions(input)).toEqual(bySchema(input));
    expect(byCallOptions(input)).toEqual({ refused: [{ path: 'options', message: 'could not be read: boom' }] });
  });

  it('return a copy, not the caller’s object', () => {
    const input = { mode: 'lock' as const };
    const parsed = parseCallOptions(input);
    expect(parsed).toEqual(input);
    expect(parsed).not.toBe(input);
  });
});
