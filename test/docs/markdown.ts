/**
 * Just enough Markdown for the documentation tests: headings and their GitHub anchors, the links
 * of a page (outside code), and the table under a heading. Written for the project's own pages,
 * which use plain GitHub-flavoured Markdown.
 */

/** The page with fenced code blocks blanked (lines kept, so line numbers stay right). */
export function withoutCodeBlocks(markdown: string): string {
  let fence: string | undefined;
  return markdown
    .split('\n')
    .map((line) => {
      const opening = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
      if (fence === undefined && opening) {
        fence = opening[1]!.slice(0, 3);
        return '';
      }
      if (fence !== undefined) {
        if (line.trim().startsWith(fence)) fence = undefined;
        return '';
      }
      return line;
    })
    .join('\n');
}

/** Headings (ATX, `#` to `######`) outside code blocks, with their text as GitHub renders it. */
export function headings(markdown: string): string[] {
  return withoutCodeBlocks(markdown)
    .split('\n')
    .map((line) => /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1])
    .filter((text): text is string => text !== undefined);
}

/**
 * GitHub's heading anchor: the rendered text lower-cased, everything but letters, digits,
 * spaces, `-` and `_` dropped, spaces turned into `-`; a repeated anchor gets `-1`, `-2`...
 */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const heading of headings(markdown)) {
    const text = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // links keep their text
      .replace(/<[^>]+>/g, '') // inline HTML goes
      .replace(/[`*~]/g, '') // code and emphasis marks go; `_` is kept as GitHub keeps it
      .toLowerCase();
    const base = text
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .trim()
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

export interface Link {
  target: string;
  line: number;
}

/** Link and image targets outside code: `[text](target)`, `![alt](target)`, `<a href>`, `<img src>`. */
export function links(markdown: string): Link[] {
  const found: Link[] = [];
  withoutCodeBlocks(markdown)
    .split('\n')
    .forEach((raw, index) => {
      const line = raw.replace(/`[^`]*`/g, ''); // inline code is not a link
      for (const match of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
        found.push({ target: match[1]!, line: index + 1 });
      for (const match of line.matchAll(/<(?:a|img)\s[^>]*?(?:href|src)="([^"]+)"/g))
        found.push({ target: match[1]!, line: index + 1 });
    });
  return found;
}

/** Cells of a table row, split on `|` that are not escaped (`\|` stays in the cell). */
export function tableCells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

/**
 * The first table after the heading whose text is `heading`, as rows of cells keyed by the
 * header row. Throws when the heading or the table is missing, so a renamed section fails loudly.
 */
export function tableUnder(markdown: string, heading: string): Record<string, string>[] {
  const lines = withoutCodeBlocks(markdown).split('\n');
  const at = lines.findIndex(
    (line) => /^\s{0,3}#{1,6}\s+/.test(line) && line.replace(/^\s*#+\s+/, '').trim() === heading,
  );
  if (at < 0) throw new Error(`no heading "${heading}"`);
  let start = at + 1;
  while (start < lines.length && !lines[start]!.trim().startsWith('|')) {
    if (/^\s{0,3}#{1,6}\s+/.test(lines[start]!)) throw new Error(`no table under "${heading}"`);
    start += 1;
  }
  if (start >= lines.length) throw new Error(`no table under "${heading}"`);
  const rows: string[] = [];
  for (let i = start; i < lines.length && lines[i]!.trim().startsWith('|'); i += 1) rows.push(lines[i]!);
  const [header, separator, ...body] = rows;
  if (header === undefined || separator === undefined || !/^\|?\s*:?-+/.test(separator.trim()))
    throw new Error(`malformed table under "${heading}"`);
  const names = tableCells(header);
  return body.map((row) => Object.fromEntries(tableCells(row).map((cell, i) => [names[i] ?? `${i}`, cell])));
}

/** The code spans of a cell: "`a`, `b` and text" -> ["a", "b"]. */
export const codeSpans = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
