/**
 * A Stryker reporter plugin (stryker.config.json "appendPlugins", reporter "live"): appends each
 * mutant's result to live.ndjson next to the JSON report (reports/mutation/live.ndjson) as soon
 * as it is tested, so the survivors of a run that takes hours can be read, and killed, while it
 * goes on. The full reports come at the end.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PluginKind, commonTokens, declareClassPlugin } from '@stryker-mutator/api/plugin';

class LiveReporter {
  static inject = [commonTokens.options];
  constructor(options) {
    this.file = join(
      dirname(options.jsonReporter?.fileName ?? 'reports/mutation/mutation.json'),
      'live.ndjson',
    );
  }
  onMutationTestingPlanReady({ mutantPlans }) {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, '');
    // The plan beside it (plan.ndjson): every mutant, whether it will run and against how many
    // tests, so a run's progress and the files still to come can be read while it goes on.
    writeFileSync(
      join(dirname(this.file), 'plan.ndjson'),
      mutantPlans
        .map(({ plan, mutant, runOptions }) =>
          JSON.stringify({
            file: mutant.fileName,
            line: mutant.location.start.line,
            column: mutant.location.start.column,
            mutator: mutant.mutatorName,
            plan,
            status: plan === 'EarlyResult' ? mutant.status : undefined,
            tests: runOptions?.testFilter?.length,
          }),
        )
        .join('\n') + '\n',
    );
  }
  onMutantTested(result) {
    const { fileName, mutatorName, replacement, location, status, statusReason } = result;
    appendFileSync(
      this.file,
      `${JSON.stringify({
        file: fileName,
        line: location.start.line,
        column: location.start.column,
        mutator: mutatorName,
        replacement,
        status,
        reason: status === 'Survived' || status === 'NoCoverage' ? undefined : statusReason?.slice(0, 200),
      })}\n`,
    );
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, 'live', LiveReporter)];
