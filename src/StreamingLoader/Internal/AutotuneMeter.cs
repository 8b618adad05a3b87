namespace StreamingLoader.Internal;

/// <summary>
/// The <see cref="Autotuner"/>'s measuring: the totals of each tick, and from those since a window started, the
/// window's samples/s, shares of time and per-sample costs, with the standard errors of samples/s and of the wait
/// share from the spread of its ticks.
/// </summary>
internal sealed class AutotuneMeter(AutotuneSettings settings, TimeProvider time)
{
    private readonly List<(double Seconds, long Samples, double Wait)> _ticks = [];
    private (long At, AutotuneSample Totals)? _start;
    private (long At, long Samples, double Wait) _last;

    /// <summary>Gets whether a window was ever started.</summary>
    public bool Started => _start is not null;

    /// <summary>Takes a tick's totals; returns what the tick added since the last one.</summary>
    public (double Seconds, long Samples, double Wait) Take(long now, AutotuneSample totals)
    {
        var last = _last;
        _last = (now, totals.Samples, totals.WaitSeconds);
        return (Seconds(last.At, now), totals.Samples - last.Samples, totals.WaitSeconds - last.Wait);
    }

    /// <summary>Starts a window at these totals.</summary>
    public void Start(long now, AutotuneSample totals)
    {
        _start = (now, totals);
        _ticks.Clear();
    }

    /// <summary>Adds <paramref name="tick"/> to the window and measures it; the workers' busy share is of <paramref name="workers"/>.</summary>
    public AutotuneWindow Measure((double Seconds, long Samples, double Wait) tick, long now, AutotuneSample end, int workers)
    {
        _ticks.Add(tick);
        var (startAt, start) = _start!.Value;
        var seconds = Seconds(startAt, now);
        var samples = Math.Max(1, end.Samples - start.Samples);
        var busy = end.BusySeconds - start.BusySeconds;
        var step = end.StepSeconds - start.StepSeconds;
        var (rateError, waitError) = Errors(end.Batches - start.Batches == 0 ? 0 : (end.Samples - start.Samples) / (double)(end.Batches - start.Batches));
        return new AutotuneWindow(
            seconds,
            end.Batches - start.Batches,
            (end.Samples - start.Samples) / seconds,
            Math.Clamp((end.WaitSeconds - start.WaitSeconds) / seconds, 0, 1),
            Math.Clamp(busy / (workers * seconds), 0, 1),
            busy / samples,
            step / samples,
            rateError,
            waitError);
    }

    public double Seconds(long from, long to) => Math.Max(1e-9, (to - from) / (double)time.TimestampFrequency);

    /// <summary>
    /// The standard errors of the window's samples/s and wait share, from the spread of its ticks. Samples arrive a
    /// batch at a time: with slow batches most ticks hold none and a few one, a spread that is the batches' size, not
    /// noise. So ticks are taken in blocks that each hold at least <see cref="AutotuneSettings.BatchesPerBlock"/>
    /// batches (of <paramref name="samplesPerBatch"/> samples), the last block taking the rest; with fast batches
    /// each tick is a block.
    /// </summary>
    private (double Rate, double Wait) Errors(double samplesPerBatch)
    {
        var blocks = new List<(double Seconds, long Samples, double Wait)>(_ticks.Count);
        var open = (Seconds: 0.0, Samples: 0L, Wait: 0.0);
        foreach (var tick in _ticks)
        {
            open = (open.Seconds + tick.Seconds, open.Samples + tick.Samples, open.Wait + tick.Wait);
            if (open.Samples >= settings.BatchesPerBlock * samplesPerBatch)
            {
                blocks.Add(open);
                open = (0.0, 0L, 0.0);
            }
        }

        if (open.Seconds > 0 && blocks.Count > 0)
        {
            var last = blocks[^1];
            blocks[^1] = (last.Seconds + open.Seconds, last.Samples + open.Samples, last.Wait + open.Wait);
        }

        return (StandardError(blocks.ConvertAll(b => b.Samples / b.Seconds)), StandardError(blocks.ConvertAll(b => Math.Clamp(b.Wait / b.Seconds, 0, 1))));
    }

    /// <summary>The standard error of the mean of <paramref name="values"/> (0 with fewer than two).</summary>
    private static double StandardError(List<double> values)
    {
        if (values.Count < 2)
        {
            return 0;
        }

        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1) / values.Count);
    }
}
