namespace StreamingLoader.Stress;

/// <summary>Runs a stress path many times and counts the runs that did not end within the deadline and those that ended wrong.</summary>
internal static class StressRunner
{
    /// <summary>
    /// Runs <paramref name="run"/> <paramref name="runs"/> times at <paramref name="workers"/> workers, one after another.
    /// A run still going after <paramref name="deadline"/> is a hang (left behind; the next run starts); a run that throws
    /// ended wrong, and the first such error is kept.
    /// </summary>
    public static async Task<StressResult> RepeatAsync(Func<int, int, Task> run, int runs, int workers, TimeSpan deadline, CancellationToken cancellationToken = default)
    {
        int ran = 0, hung = 0, failed = 0;
        Exception? firstError = null;
        for (var i = 0; i < runs && !cancellationToken.IsCancellationRequested; i++, ran++)
        {
            var task = run(i, workers);
            if (await Task.WhenAny(task, Task.Delay(deadline, cancellationToken)).ConfigureAwait(false) != task)
            {
                hung++;
                continue;
            }

            try
            {
                await task.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failed++;
                firstError ??= ex;
            }
        }

        return new StressResult(ran, hung, failed, firstError);
    }
}

/// <summary>What <see cref="StressRunner.RepeatAsync"/> counted; <paramref name="FirstError"/> is the first wrong outcome's error.</summary>
internal sealed record StressResult(int Ran, int Hung, int Failed, Exception? FirstError);
