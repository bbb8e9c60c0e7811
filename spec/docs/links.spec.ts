/**
 * Every relative link of the Markdown documentation resolves: the file it names exists (relative to
 * the linking file), and its `#anchor` (in the page, or `file.md#anchor`) names a heading of the
 * target under GitHub's rules. No Redis needed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');

/** The files checked: the README, the changelog, and every page of docs/ and examples/. */
function markdownFiles(): string[] {
  const inFolder = (folder: string) =>
    existsSync(join(root, folder))
      ? readdirSync(join(root, folder))
          .filter((name) => name.endsWith('.md'))
          .sort()
          .map((name) => join(root, folder, name))
      : [];
  return [join(root, 'README.md'), join(root, 'CHANGELOG.md'), ...inFolder('docs'), ...inFolder('examples')];
}

interface Link {
  line: number;
  target: string;
}

/** Replaces code spans with spaces of the same length, so what they hold is neither a link nor markup. */
function blankCodeSpans(text: string): string {
  return text.replace(/(`+)[\s\S]*?\1/g, (span) => ' '.repeat(span.length));
}

/** The lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { line: number; text: string }[] {
  const lines: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((content, index) => {
    const opener = /^ {0,3}(`{3,}|~{3,})/.exec(content);
    if (fence === undefined) {
      if (opener) fence = opener[1];
      else lines.push({ line: index + 1, text: content });
    } else if (opener && opener[1]!.startsWith(fence) && content.trim() === opener[1]) {
      fence = undefined;
    }
  });
  return lines;
}

/** Inline links and images (`[text](target "title")`, `![alt](<target>)`) and reference definitions. */
export function linksOf(text: string): Link[] {
  const links: Link[] = [];
  for (const { line, text: content } of proseLines(text)) {
    const prose = blankCodeSpans(content);
    const definition = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(prose);
    if (definition) links.push({ line, target: definition[1]!.replace(/^<|>$/g, '') });
    for (const match of prose.matchAll(/\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
      links.push({ line, target: match[1]!.replace(/^<|>$/g, '') });
    }
  }
  return links;
}

/** What GitHub renders of a heading's Markdown: code spans keep their text, markup goes. */
function headingText(markdown: string): string {
  return markdown
    .split(/(`+[^`]*?`+)/)
    .map((part, index) => {
      if (index % 2 === 1) return part.replace(/^`+\s?|\s?`+$/g, '');
      return part
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
        .replace(/<[^>]+>/g, '') // HTML tags
        .replace(/(\*+|~~)/g, '') // emphasis, strong, strikethrough
        .replace(/(^|[^\p{L}\p{N}])_+|_+(?=[^\p{L}\p{N}]|$)/gu, '$1'); // _emphasis_, not snake_case
    })
    .join('');
}

/** GitHub's slug (github-slugger): lowercase, punctuation dropped except `-` and `_`, each space a `-`. */
export function slug(heading: string): string {
  return headingText(heading)
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page has: its headings' slugs (repeats get `-1`, `-2`...) and explicit HTML ids. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const lines = proseLines(text);
  lines.forEach(({ text: content }, index) => {
    let heading = /^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$/.exec(content)?.[1];
    // Setext headings: a line underlined with === or ---.
    const next = lines[index + 1];
    if (heading === undefined && content.trim() !== '' && next && next.line === lines[index]!.line + 1) {
      if (/^ {0,3}(=+|-+)\s*$/.test(next.text) && !/^\s*([-*+]\s|>|\|)/.test(content)) heading = content.trim();
    }
    if (heading !== undefined) {
      const base = slug(heading);
      let candidate = base;
      for (let n = seen.get(base) ?? 0; anchors.has(candidate); n++) {
        candidate = `${base}-${n + 1}`;
        seen.set(base, n + 1);
      }
      anchors.add(candidate);
    }
    for (const match of blankCodeSpans(content).matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) anchors.add(match[1]!);
  });
  return anchors;
}

/** The broken relative links of one file, as `file:line: target (why)`. */
export function brokenLinks(file: string, text: string, read: (path: string) => string | undefined): string[] {
  const broken: string[] = [];
  const where = (line: number) => `${relative(root, file) || file}:${line}`;
  for (const { line, target } of linksOf(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto: and other schemes
    const hash = target.indexOf('#');
    const pathPart = hash === -1 ? target : target.slice(0, hash);
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const targetFile = pathPart === '' ? file : resolve(pathPart.startsWith('/') ? root : dirname(file), decodeURIComponent(pathPart.replace(/^\//, '')));
    const targetText = pathPart === '' ? text : read(targetFile);
    if (targetText === undefined) {
      broken.push(`${where(line)}: ${target} (no such file: ${relative(root, targetFile)})`);
      continue;
    }
    if (anchor === undefined || anchor === '' || !targetFile.endsWith('.md')) continue;
    if (!anchorsOf(targetText).has(anchor)) broken.push(`${where(line)}: ${target} (no heading #${anchor} in ${relative(root, targetFile)})`);
  }
  return broken;
}

function readFromDisk(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  return statSync(path).isDirectory() ? '' : readFileSync(path, 'utf8');
}

describe('documentation links', () => {
  const files = markdownFiles();

  it('checks the README, the changelog, and the pages of docs/ and examples/', () => {
    const names = files.map((file) => relative(root, file));
    expect(names).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'docs/internals.md', 'examples/README.md']));
  });

  it.each(files.map((file) => [relative(root, file), file]))('every relative link of %s resolves, anchors included', (_name, file) => {
    expect(brokenLinks(file, readFileSync(file, 'utf8'), readFromDisk)).toEqual([]);
  });
});

describe('the link checker', () => {
  it('makes anchors as GitHub does', () => {
    expect(slug("Lock mode: `transact(keys, fn, { mode: 'lock' })`")).toBe('lock-mode-transactkeys-fn--mode-lock-');
    expect(slug('`tx.lock(resources, options?)` / `tx.withLock(resources, fn, options?)`')).toBe(
      'txlockresources-options--txwithlockresources-fn-options',
    );
    expect(slug('Failure semantics: what each outcome means for you')).toBe('failure-semantics-what-each-outcome-means-for-you');
    expect(slug('**Bold** and _emphasis_ in a `snake_case` heading')).toBe('bold-and-emphasis-in-a-snake_case-heading');
    expect(slug('[Unreleased]')).toBe('unreleased');
    expect(slug('Limits & FAQ')).toBe('limits--faq');
    expect([...anchorsOf('# A\n\n## FAQ\n\n```md\n## Not a heading\n```\n\n## FAQ\n\nFAQ\n---\n')]).toEqual(['a', 'faq', 'faq-1', 'faq-2']);
  });

  it('reports a missing file and a missing anchor by file and line, and ignores code and absolute URLs', () => {
    const file = join(root, 'docs', 'page.md');
    const pages: Record<string, string> = { [join(root, 'README.md')]: '# redis-transact\n\n## Install\n' };
    const text = [
      '# Page',
      '',
      'See [install](../README.md#install), [the top](#page) and [the web](https://example.com/x.md#nope).',
      'A [gone page](gone.md) and a [wrong anchor](../README.md#usage).',
      '`[not a link](nowhere.md)`',
      '```md',
      '[not a link either](nowhere.md)',
      '```',
      '![chart](../README.md "title") and [self](#nothing-here)',
      '[ref]: ./missing.md',
    ].join('\n');

    expect(brokenLinks(file, text, (path) => pages[path])).toEqual([
      'docs/page.md:4: gone.md (no such file: docs/gone.md)',
      'docs/page.md:4: ../README.md#usage (no heading #usage in README.md)',
      'docs/page.md:9: #nothing-here (no heading #nothing-here in docs/page.md)',
      'docs/page.md:10: ./missing.md (no such file: docs/missing.md)',
    ]);
  });
});
