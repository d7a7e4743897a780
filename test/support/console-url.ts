/**
 * Reads back the CloudWatch console's Logs Insights deep link that alerts carry
 * (lambda/adapters/alert-format.ts `logsInsightsConsoleUrl`), so a test can check the link
 * independently: decode it the way the console does and run its query.
 */
export interface ConsoleQueryDetail {
  end: string;
  start: string;
  timeType: string;
  editorString: string;
  source: string[];
}

/** Reverses the console's fragment encoding: `$` -> `%`, unescape, then the `*XX` inner encoding. */
export function decodeConsoleUrl(url: string): ConsoleQueryDetail {
  const fragment = url.split('#logsV2:logs-insights')[1] ?? '';
  const outer = decodeURIComponent(fragment.replace(/\$/g, '%'));
  if (!outer.startsWith('?queryDetail='))
    throw new Error(`console URL fragment does not start with ?queryDetail=: ${outer}`);
  const detail = decodeURIComponent(outer.slice('?queryDetail='.length));
  const inner = (v: string) => decodeURIComponent(v.replace(/\*/g, '%'));
  const match =
    /^~\(end~'([^~]*)~start~'([^~]*)~timeType~'([^~]*)~tz~'UTC~editorString~'([^~]*)~source~\(((?:~'[^~()]*)*)\)\)$/.exec(
      detail,
    );
  if (!match) throw new Error(`unexpected console query detail ${detail}`);
  return {
    end: inner(match[1]!),
    start: inner(match[2]!),
    timeType: match[3]!,
    editorString: inner(match[4]!),
    source: match[5]!
      .split("~'")
      .filter((s) => s.length > 0)
      .map(inner),
  };
}
