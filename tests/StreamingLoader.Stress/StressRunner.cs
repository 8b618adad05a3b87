namespace StreamingLoader.Stress;

/// <summary>Runs a stress path many times and counts the runs that did not end within the deadline and those that ended wrong.</summary>
internal static class StressRunner
{
    /// <summary>
    /// Runs <paramref name="run"/> <paramref name="runs"/> times at <paramref name="workers"/> workers, one after another.
    /// A run still going after <paramref name="deadline"/> is a hang (left behind; the next run starts); a run that throws
    /// ended wrong, and the first such error is kept. With <paramref name="stopAtFirst"/> the first hang or wrong outcome
    /// ends the repetition (a test needs one, not a count).
    /// </summary>
    public static async Task<StressResult> RepeatAsync(
        Func<int, int, Task> run, int runs, int workers, TimeSpan deadline, bool stopAtFirst = false, CancellationToken cancellationToken = default)
    {
        int ran = 0, hung = 0, failed = 0;
        Exception? firstError = null;
        for (var i = 0; i < runs && !cancellationToken.IsCancellationRequested && !(stopAtFirst && hung + failed > 0); i++, ran++)
        {
            var task = run(i, workers);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (await Task.WhenAny(task, Task.Delay(deadline, timeout.Token)).ConfigureAwait(false) != task)
            {
                hung++;
                firstError ??= new TimeoutException($"Run {i} did not end within {deadline.TotalSeconds:F0} s.");
                continue;
            }

            await timeout.CancelAsync().ConfigureAwait(false);
            try
            {
                await task.ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Counted and reported: a wrong outcome, not a crash of the stress run.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failed++;
                firstError ??= new InvalidOperationException($"Run {i} ended wrong: {ex.Message}", ex);
            }
        }

        return new StressResult(ran, hung, failed, firstError);
    }
}
