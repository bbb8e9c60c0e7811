import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RETRY_POLICY, InvalidOptionsError, loadRetryPolicy } from '../../lib';

const dir = mkdtempSync(join(tmpdir(), 'retry-policy-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

afterEach(() => {
  delete process.env.TEST_RETRY_POLICY;
});

describe('loadRetryPolicy', () => {
  it('reads a JSON file over the defaults', () => {
    const path = file('ok.json', JSON.stringify({ maxAttempts: 25, backoff: 'decorrelated', deadlineMs: 2000 }));
    expect(loadRetryPolicy({ file: path })).toEqual({
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: 25,
      backoff: 'decorrelated',
      deadlineMs: 2000,
    });
  });

  it('reads an environment variable, whose fields win over the file', () => {
    const path = file('base.json', JSON.stringify({ maxAttempts: 25, baseDelayMs: 10 }));
    process.env.TEST_RETRY_POLICY = '{"maxAttempts": 3}';
    expect(loadRetryPolicy({ file: path, env: 'TEST_RETRY_POLICY' })).toMatchObject({ maxAttempts: 3, baseDelayMs: 10 });
  });

  it('skips an unset or empty variable', () => {
    expect(loadRetryPolicy({ env: 'TEST_RETRY_POLICY' })).toBe(DEFAULT_RETRY_POLICY);
    process.env.TEST_RETRY_POLICY = '  ';
    expect(loadRetryPolicy({ env: 'TEST_RETRY_POLICY' })).toBe(DEFAULT_RETRY_POLICY);
  });

  it('names the source and every bad field', () => {
    const path = file('bad.json', JSON.stringify({ maxAttempts: 0, jitter: 'some' }));
    expect(() => loadRetryPolicy({ file: path })).toThrow(
      `invalid options in file ${path}: maxAttempts: must be a positive integer, got 0; jitter: must be one of "none", "full", "equal", got "some"`,
    );
    process.env.TEST_RETRY_POLICY = '{"maxAttemps": 3}';
    expect(() => loadRetryPolicy({ env: 'TEST_RETRY_POLICY' })).toThrow(
      'invalid options in env TEST_RETRY_POLICY: maxAttemps: is not a known option',
    );
  });

  it('refuses broken JSON, a missing file and an empty source', () => {
    process.env.TEST_RETRY_POLICY = '{maxAttempts: 3}';
    expect(() => loadRetryPolicy({ env: 'TEST_RETRY_POLICY' })).toThrow(/^invalid options in env TEST_RETRY_POLICY: is not valid JSON/);
    expect(() => loadRetryPolicy({ file: join(dir, 'missing.json') })).toThrow(/cannot be read: ENOENT/);
    expect(() => loadRetryPolicy({})).toThrow(InvalidOptionsError);
  });

  it('refuses a deadline longer than a Node timer can wait, from an env variable', () => {
    process.env.TEST_RETRY_POLICY = JSON.stringify({ deadlineMs: 2 ** 31 });
    expect(() => loadRetryPolicy({ env: 'TEST_RETRY_POLICY' })).toThrow(InvalidOptionsError);
    expect(() => loadRetryPolicy({ env: 'TEST_RETRY_POLICY' })).toThrow(
      'invalid options in env TEST_RETRY_POLICY: deadlineMs: must be at most 2147483647 (the longest timer Node can set), got 2147483648',
    );
  });
});
