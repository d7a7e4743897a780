/**
 * The alert examples of README.md and docs/design.md are what the production formatter renders
 * for the same alert (test/docs/readme-alert.ts), so they cannot drift from the code. A line the
 * page shortens with a trailing `...` must be a prefix of the rendered line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSnsMessage, type ChatbotNotification } from '../../lambda/adapters/alert-format';
import { README_ALERT, README_ALERT_CONTEXT } from './readme-alert';

const ROOT = join(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const design = readFileSync(join(ROOT, 'docs', 'design.md'), 'utf8');

/** The fenced blocks between the heading `heading` and the next heading outside code. */
function blocksUnder(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const at = lines.indexOf(heading);
  if (at < 0) throw new Error(`no heading "${heading}"`);
  const blocks: string[] = [];
  let block: string[] | undefined;
  for (const line of lines.slice(at + 1)) {
    if (block === undefined && /^#{1,6} /.test(line)) break;
    if (/^\s*```/.test(line)) {
      if (block === undefined) block = [];
      else {
        blocks.push(block.join('\n'));
        block = undefined;
      }
    } else if (block !== undefined) {
      block.push(line);
    }
  }
  return blocks;
}

/** Each page line equals the rendered one, or, ending in `...`, starts it. */
function expectSameLines(page: string, rendered: string): void {
  const pageLines = page.split('\n');
  const renderedLines = rendered.split('\n');
  expect(pageLines).toHaveLength(renderedLines.length);
  pageLines.forEach((line, i) => {
    const actual = renderedLines[i]!;
    if (line.endsWith('...') && line !== actual)
      expect({ line: i, prefix: actual.startsWith(line.slice(0, -3)) }).toEqual({ line: i, prefix: true });
    else expect({ line: i, text: line }).toEqual({ line: i, text: actual });
  });
}

const message = buildSnsMessage(README_ALERT, README_ALERT_CONTEXT);
const body = JSON.parse(message.message) as { email: string; default: string };
const chat = JSON.parse(body.default) as ChatbotNotification;

describe('alert examples in the documentation', () => {
  const [email, slack] = blocksUnder(readme, '## What an alert looks like');

  it("README: the email is the formatter's", () => {
    expectSameLines(email ?? '', body.email);
  });

  it("README: the Slack message is the notification's title and description, under the SNS subject", () => {
    expectSameLines(slack ?? '', `${chat.content.title}\n${chat.content.description}`);
    expect(readme).toContain(`under the subject \`${message.subject}\``);
  });

  it("design: the Chatbot notification JSON is the formatter's (console link shortened)", () => {
    const [json] = blocksUnder(design, '### The SNS message');
    const shown = JSON.parse(json ?? 'null') as ChatbotNotification;
    const [shownLink, ...shownSteps] = shown.content.nextSteps;
    const [link, ...steps] = chat.content.nextSteps;
    const [prefix] = (shownLink ?? '').split('...');
    expect(link?.startsWith(prefix ?? '')).toBe(true);
    expect(shownLink?.endsWith('|Logs Insights query for this window>')).toBe(true);
    expect(link?.endsWith('|Logs Insights query for this window>')).toBe(true);
    expect({ ...shown, content: { ...shown.content, nextSteps: shownSteps } }).toEqual({
      ...chat,
      content: { ...chat.content, nextSteps: steps },
    });
  });
});
