/**
 * The publish pace (AWS Chatbot takes about 10 events a second and drops the rest): no second,
 * any second, holds more than 10 publishes, however long each publish takes.
 */
import { PublishPacer } from '../../lambda/detector-run';

/**
 * Publishes `durations.length` times through a pacer on a clock that moves by each publish's
 * duration and each wait, as the run does (afterPublish once the call returns). Returns when each
 * publish started and when it ended.
 */
async function pacedCalls(durations: readonly number[]): Promise<{ starts: number[]; ends: number[] }> {
  let clock = 0;
  const pacer = new PublishPacer(
    () => clock,
    (ms) => {
      clock += ms;
      return Promise.resolve();
    },
  );
  const starts: number[] = [];
  const ends: number[] = [];
  for (const duration of durations) {
    await pacer.beforePublish();
    starts.push(clock);
    clock += duration;
    pacer.afterPublish();
    ends.push(clock);
  }
  return { starts, ends };
}

const paced = async (durations: readonly number[]) => (await pacedCalls(durations)).starts;

/** Pairs (i, i + 10) of publishes that started less than a second apart: 11 in one second. */
const crowded = (starts: readonly number[]) =>
  starts.flatMap((t, i) => (i + 10 < starts.length && starts[i + 10]! - t < 1_000 ? [i] : []));

describe('PublishPacer', () => {
  it('keeps any second to 10 publishes when the slow ones end a burst and fast ones begin the next', async () => {
    // Nine slow publishes (110 ms), then fast ones (1 ms): a pacer that waits only a second from
    // each burst's start let 19 into the second after the ninth.
    const starts = await paced([
      ...Array.from({ length: 9 }, () => 110),
      ...Array.from({ length: 31 }, () => 1),
    ]);
    expect(crowded(starts)).toEqual([]);
  });

  it('keeps any second to 10 publishes for durations that vary at random', async () => {
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const starts = await paced(Array.from({ length: 500 }, () => Math.floor(random() * 200)));
    expect(crowded(starts)).toEqual([]);
  });

  it('keeps any second to 10 accepted publishes when one was retried by the SDK (accepted when it ended)', async () => {
    // The first publish takes 950 ms (a retry); SNS may accept it at its end. Ten fast ones after
    // it must not fall in the second after that acceptance together with it.
    const { starts, ends } = await pacedCalls([950, ...Array.from({ length: 20 }, () => 1)]);
    const accepted = [ends[0]!, ...starts.slice(1)];
    expect(crowded(accepted)).toEqual([]);
  });

  it('does not wait when publishes are slower than the pace: 10 a second is a bound, not a delay', async () => {
    const starts = await paced(Array.from({ length: 30 }, () => 150));
    expect(starts.at(-1)).toBe(29 * 150);
  });

  it('sends 25 fast publishes in three groups, about a second apart, no slower than the pace needs', async () => {
    const starts = await paced(Array.from({ length: 25 }, () => 0));
    expect(crowded(starts)).toEqual([]);
    expect(starts.at(-1)).toBe(2_000);
  });
});
