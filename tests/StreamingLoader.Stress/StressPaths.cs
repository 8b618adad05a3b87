using System.Collections.Concurrent;
using System.Reactive.Linq;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using StreamingLoader.Datasets;
using StreamingLoader.Batching;

namespace StreamingLoader.Stress;

/// <summary>
/// The loader's error and shutdown paths, each a run that ends wrong (throws) when the loader's outcome is wrong: a
/// missing or wrong error, an inexact count, a sample delivered twice or never. <see cref="StressRunner"/> repeats them
/// and counts the runs that hang. The hangs they look for were intermittent (a few runs in a hundred).
/// </summary>
internal static class StressPaths
{
    /// <summary>Gets every path: its name, and a run of it (run number, worker count).</summary>
    public static IReadOnlyList<(string Name, Func<int, int, Task> Run)> All { get; } =
    [
        ("read throws (fail policy)", ReadThrowsAsync),
        ("transform throws (fail policy)", TransformThrowsAsync),
        ("wrong-shaped sample (fail policy)", WrongShapeAsync),
        ("source ends with prefetch full, then dispose", SourceEndsPrefetchFullAsync),
        ("consumer throws mid-epoch", ConsumerThrowsAsync),
        ("dispose mid-epoch", DisposeMidEpochAsync),
        ("random throws, skip policy (exact counts)", RandomThrowsSkippedAsync),
        ("transient errors retried (exact counts)", TransientErrorsRetriedAsync),
        ("observer's OnNext throws", OnNextThrowsAsync),
        ("read canceled mid-epoch, then dispose", CancelMidEpochAsync),
        ("resume from a random save point (exact)", ResumeExactAsync),
    ];

    private static LoaderOptions Options(int workers) => new() { BatchSize = 8, Workers = workers, Prefetch = 2 };

    private static Sample<float, long> Make(int i) => new(new[] { (float)i }, i);

    /// <summary>
    /// Reads until the expected error. A consumer slower than the workers keeps the prefetch queue full, so later
    /// batches wait for room when the error arrives: the condition of the hang this looks for.
    /// </summary>
    private static async Task ExpectErrorAsync(DataLoader loader, long sampleIndex)
    {
        try
        {
            // Let the workers run ahead until every queue is full before the consumer starts.
            await using var reader = loader.ReadEpochAsync().GetAsyncEnumerator();
            if (await reader.MoveNextAsync().ConfigureAwait(false))
            {
                reader.Current.Dispose();
                await Task.Delay(20).ConfigureAwait(false);
            }

            while (await reader.MoveNextAsync().ConfigureAwait(false))
            {
                Thread.SpinWait(20_000);
                reader.Current.Dispose();
            }

            throw new InvalidOperationException("The epoch ended without the expected error.");
        }
        catch (DataLoaderException error) when (error.SampleIndex == sampleIndex)
        {
        }
        finally
        {
            await loader.DisposeAsync().ConfigureAwait(false);
            CheckStopped(loader);
        }
    }

    private static Task ReadThrowsAsync(int run, int workers)
    {
        var failAt = 16 + (run % 200);
        var dataset = Dataset.FromFunc(2_000, i => i == failAt ? throw new InvalidDataException("corrupt") : Make(i));
        return ExpectErrorAsync(Pipeline.From(dataset).Build(Options(workers)), failAt);
    }

    private static Task TransformThrowsAsync(int run, int workers)
    {
        var failAt = 16 + (run % 200);
        var loader = Pipeline.From(Dataset.FromFunc(2_000, Make))
            .Transform((s, c) => c.Index == failAt ? throw new InvalidDataException("corrupt") : s)
            .Build(Options(workers));
        return ExpectErrorAsync(loader, failAt);
    }

    private static Task WrongShapeAsync(int run, int workers)
    {
        var failAt = 16 + (run % 200);
        var dataset = Dataset.FromFunc(2_000, i => i == failAt ? new Sample<float, long>(new float[3], i) : Make(i));
        return ExpectErrorAsync(Pipeline.From(dataset).Build(Options(workers)), failAt);
    }

    private static async Task SourceEndsPrefetchFullAsync(int run, int workers)
    {
        var channel = Channel.CreateUnbounded<Sample<float, long>>();
        for (var i = 0; i < 200; i++)
        {
            channel.Writer.TryWrite(Make(i));
        }

        channel.Writer.Complete();
        var loader = Pipeline.From(channel.Reader).Build(Options(workers));
        await foreach (var batch in loader.ReadEpochAsync().ConfigureAwait(false))
        {
            batch.Dispose();
            break;
        }

        await Task.Delay(run % 3).ConfigureAwait(false);
        await loader.DisposeAsync().ConfigureAwait(false);
        CheckStopped(loader);
    }

    private static async Task ConsumerThrowsAsync(int run, int workers)
    {
        var loader = Pipeline.From(Dataset.FromFunc(2_000, Make)).Build(Options(workers));
        try
        {
            await foreach (var batch in loader.ReadEpochAsync().ConfigureAwait(false))
            {
                using (batch)
                {
                    if (batch.Index == run % 50)
                    {
                        throw new InvalidOperationException("consumer failed");
                    }
                }
            }
        }
        catch (InvalidOperationException ex) when (ex.Message == "consumer failed")
        {
        }

        await loader.DisposeAsync().ConfigureAwait(false);
        CheckStopped(loader);
    }

    private static async Task DisposeMidEpochAsync(int run, int workers)
    {
        var loader = Pipeline.From(Dataset.FromFunc(2_000, Make)).Build(Options(workers));
        var read = 0;
        await foreach (var batch in loader.ReadEpochAsync().ConfigureAwait(false))
        {
            batch.Dispose();
            if (++read > run % 20)
            {
                break;
            }
        }

        await loader.DisposeAsync().ConfigureAwait(false);
        CheckStopped(loader);
    }

    /// <summary>A random 5 % of samples throw under skip; every other sample arrives once and the counts are exact.</summary>
    private static async Task RandomThrowsSkippedAsync(int run, int workers)
    {
        var random = new Random(run);
        var failing = Enumerable.Range(0, 600).Where(_ => random.NextDouble() < 0.05).Select(i => (long)i).ToHashSet();
        var options = Options(workers);
        options.ErrorPolicy = ErrorPolicy.Skip;
        options.Ordered = run % 2 == 0;
        var loader = Pipeline.From(Dataset.FromFunc(600, Make))
            .Transform((s, c) => failing.Contains(c.Index) ? throw new InvalidDataException("corrupt") : s)
            .Build(options);
        await using (loader.ConfigureAwait(false))
        {
            var labels = new List<long>();
            await foreach (var batch in loader.ReadEpochAsync().ConfigureAwait(false))
            {
                using (batch)
                {
                    labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
                }
            }

            var expected = new EpochStatistics(0, 600, 600 - failing.Count, failing.Count, 0, 0, 0, 0);
            Check(loader.Statistics[0] == expected, $"statistics {loader.Statistics[0]}, expected {expected}");
            Check(labels.Order().SequenceEqual(Enumerable.Range(0, 600).Where(i => !failing.Contains(i)).Select(i => (long)i)), "delivered samples differ from the good ones");
            Check(loader.DeadLetters.Where(d => d.Epoch == 0).Select(d => d.SampleIndex).Order().SequenceEqual(failing.Order()), "dead letters differ from the failing samples");
        }

        CheckStopped(loader);
    }

    /// <summary>Some reads fail once with a transient error; the retry heals each, and exactly those retries are counted.</summary>
    private static async Task TransientErrorsRetriedAsync(int run, int workers)
    {
        // From sample 16 on: the layout agreement reads the first 8 samples once more.
        var flaky = new HashSet<int> { 16 + (run % 100), 200 + (run % 50), 599 };
        var attempts = new ConcurrentDictionary<int, int>();
        var options = Options(workers);
        options.Retry = new RetryPolicy { MaxAttempts = 3, InitialDelay = TimeSpan.Zero };
        var loader = Pipeline.From(Dataset.FromFunc(600, i => flaky.Contains(i) && attempts.AddOrUpdate(i, 1, (_, n) => n + 1) == 1 ? throw new IOException("hiccup") : Make(i)))
            .Build(options);
        await using (loader.ConfigureAwait(false))
        {
            var samples = 0;
            await foreach (var batch in loader.ReadEpochAsync().ConfigureAwait(false))
            {
                samples += batch.Count;
                batch.Dispose();
            }

            var expected = new EpochStatistics(0, 600, 600, 0, 0, 0, flaky.Count, 0);
            Check(samples == 600 && loader.Statistics[0] == expected, $"{samples} samples, statistics {loader.Statistics[0]}, expected {expected}");
        }

        CheckStopped(loader);
    }

    private static async Task OnNextThrowsAsync(int run, int workers)
    {
        var loader = Pipeline.From(Dataset.FromFunc(2_000, Make)).Build(Options(workers));
        await using (loader.ConfigureAwait(false))
        {
            try
            {
                await loader.AsObservable().ForEachAsync(batch =>
                {
                    if (batch.Index == run % 50)
                    {
                        throw new InvalidOperationException("observer failed");
                    }
                }).ConfigureAwait(false);
                throw new InvalidOperationException("The observer's error did not arrive.");
            }
            catch (InvalidOperationException ex) when (ex.Message == "observer failed")
            {
            }
        }

        CheckStopped(loader);
    }

    private static async Task CancelMidEpochAsync(int run, int workers)
    {
        var loader = Pipeline.From(Dataset.FromFunc(2_000, Make)).Build(Options(workers));
        using var cancel = new CancellationTokenSource();
        try
        {
            var read = 0;
            await foreach (var batch in loader.ReadEpochAsync(cancel.Token).ConfigureAwait(false))
            {
                batch.Dispose();
                if (++read > run % 20)
                {
                    await cancel.CancelAsync().ConfigureAwait(false);
                }
            }

            throw new InvalidOperationException("The canceled read went on to the end of the epoch.");
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }

        await loader.DisposeAsync().ConfigureAwait(false);
        CheckStopped(loader);
    }

    /// <summary>
    /// Saves the state after a random batch and resumes from it (its JSON), cycling through ordered and unordered
    /// delivery under the fail and skip policies, from a shuffled map-style dataset and from a stream, with and without
    /// a shuffle buffer: the two runs together deliver every good sample once and record every bad one once.
    /// </summary>
    private static async Task ResumeExactAsync(int run, int workers)
    {
        const int Samples = 400;
        var random = new Random(run);
        var skip = run / 2 % 2 == 0;
        var failing = skip ? Enumerable.Range(0, Samples).Where(_ => random.NextDouble() < 0.05).ToHashSet() : [];
        var stream = run / 4 % 2 == 1;
        var options = Options(workers);
        (options.Ordered, options.Shuffle, options.Seed) = (run % 2 == 0, !stream, (ulong)run);
        options.ErrorPolicy = skip ? ErrorPolicy.Skip : ErrorPolicy.Fail;
        options.ShuffleBufferSize = run / 8 % 2 == 1 ? 32 : 0;
        var source = stream ? Pipeline.From(Enumerable.Range(0, Samples).Select(Make).ToAsyncEnumerable()) : Pipeline.From(Dataset.FromFunc(Samples, Make));
        DataLoader Build(LoaderState? state) => source
            .Transform((s, c) => failing.Contains((int)c.Index) ? throw new InvalidDataException("corrupt") : s)
            .Build(options, state);

        var seen = new List<long>();
        var dead = new List<long>();
        var savePoint = random.Next(0, Samples / 8);
        LoaderState saved;
        var first = Build(null);
        await using (first.ConfigureAwait(false))
        {
            var read = 0;
            if (savePoint > 0)
            {
                await foreach (var batch in first.ReadEpochAsync().ConfigureAwait(false))
                {
                    using (batch)
                    {
                        seen.AddRange(batch.Labels.AsSpan<long>().ToArray());
                    }

                    if (++read == savePoint)
                    {
                        break;
                    }
                }
            }

            saved = LoaderState.FromJson(first.State.ToJson());
            dead.AddRange(first.DeadLetters.Where(d => d.Epoch == 0).Select(d => d.SampleIndex));
        }

        CheckStopped(first);

        var resumed = Build(saved);
        await using (resumed.ConfigureAwait(false))
        {
            // A save point past the epoch's last batch (skipped samples make fewer batches) saved the next epoch's start.
            var rest = saved.Epoch == 0 ? resumed.ReadEpochAsync() : AsyncEnumerable.Empty<Batch>();
            await foreach (var batch in rest.ConfigureAwait(false))
            {
                using (batch)
                {
                    seen.AddRange(batch.Labels.AsSpan<long>().ToArray());
                }
            }

            dead.AddRange(resumed.DeadLetters.Where(d => d.Epoch == 0).Select(d => d.SampleIndex));
        }

        CheckStopped(resumed);

        Check(seen.Order().SequenceEqual(Enumerable.Range(0, Samples).Where(i => !failing.Contains(i)).Select(i => (long)i)), $"resumed after batch {savePoint}: {seen.Count} samples delivered, {seen.Distinct().Count()} distinct, of {Samples - failing.Count}");
        Check(dead.Order().SequenceEqual(failing.Order().Select(i => (long)i)), $"resumed after batch {savePoint}: {dead.Count} dead letters for {failing.Count} bad samples");
    }

    /// <summary>
    /// Fails the run when disposing <paramref name="loader"/> left work behind: no path runs user code that blocks, so
    /// anything abandoned is a stage the shutdown did not stop (it waited out <see cref="LoaderOptions.ShutdownTimeout"/>).
    /// </summary>
    private static void CheckStopped(DataLoader loader) =>
        Check(loader.AbandonedWork.Count == 0, $"disposal abandoned work: {string.Join("; ", loader.AbandonedWork)}");

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }
}
