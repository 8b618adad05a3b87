using System.Globalization;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Internal;

/// <summary>
/// The autotuner's decisions, apart from the loader so that tests drive it with a fake clock and made-up totals.
/// Each window of enough batches (<see cref="AutotuneSettings"/>) gives samples/s, the consumer's share of time waiting
/// and the workers' share of time busy. A starved consumer with busy workers gets more workers (×2 when clearly
/// starved, else ×1.5); a starved consumer with idle workers gets more prefetch; a consumer that keeps the loader
/// waiting gets fewer workers, down to what it uses with headroom. Each change is a trial judged on the next window:
/// a larger setting must bring more samples/s (or halve the consumer's wait), a smaller one must not cost any; one
/// that fails is undone and not tried again for a cool-down (doubling with each failure; the values between are tried
/// by halving) unless the work per sample or the consumer's step changes in a way that could make it pay
/// (<see cref="AutotuneBound"/>). The buffers always fit in the memory budget, and the consumer always has room.
/// </summary>
internal sealed class Autotuner
{
    private readonly AutotuneLimits _limits;
    private readonly AutotuneSettings _settings;
    private readonly TimeProvider _time;
    private readonly AutotuneBound _workerCeiling;
    private readonly AutotuneBound _workerFloor;
    private readonly AutotuneBound _prefetchCeiling;
    private readonly List<(double Seconds, long Samples, double Wait)> _ticks = [];
    private (long At, AutotuneSample Totals)? _windowStart;
    private (long At, long Samples, double Wait) _lastTick;
    private (long At, long Batches)? _settling;
    private Trial? _trial;
    private int _holdFloor;
    private long _allocated;
    private volatile AutotuneStatus _status;

    public Autotuner(AutotuneLimits limits, AutotuneSettings settings, TimeProvider time)
    {
        (_limits, _settings, _time) = (limits, settings, time);
        (Workers, Prefetch) = (limits.Workers, limits.Prefetch);
        _workerCeiling = new AutotuneBound(settings, ceiling: true);
        _workerFloor = new AutotuneBound(settings, ceiling: false);
        _prefetchCeiling = new AutotuneBound(settings, ceiling: true);
        _status = Describe(0, "start", $"started with {Workers} workers and prefetch {Prefetch}");
    }

    public int Workers { get; private set; }

    public int Prefetch { get; private set; }

    /// <summary>Gets the buffers the pool may hold: derived from the workers and prefetch, room for what the consumer holds.</summary>
    public int PoolSize => Math.Max(_limits.PoolSize(Workers, Prefetch), _holdFloor);

    public AutotuneStatus Status => _status;

    /// <summary>Takes the totals of one tick; returns whether <see cref="Workers"/>, <see cref="Prefetch"/> or <see cref="PoolSize"/> changed.</summary>
    public bool Observe(AutotuneSample totals)
    {
        var now = _time.GetTimestamp();
        _allocated = totals.AllocatedBytes;
        var last = _lastTick;
        _lastTick = (now, totals.Samples, totals.WaitSeconds);
        if (_windowStart is null)
        {
            Settle(now, totals);
            return false;
        }

        if (FitBudget(totals) | MakeRoomForConsumer(totals))
        {
            _trial = null;
            Settle(now, totals);
            return true;
        }

        if (_settling is { } settling)
        {
            if (Seconds(settling.At, now) < _settings.Settle.TotalSeconds || totals.Batches - settling.Batches < _settings.SettleBatches)
            {
                return false;
            }

            _settling = null;
            StartWindow(now, totals);
            return false;
        }

        _ticks.Add((Seconds(last.At, now), totals.Samples - last.Samples, totals.WaitSeconds - last.Wait));
        var window = Measure(_windowStart.Value.At, _windowStart.Value.Totals, now, totals);
        var enough = (window.Seconds >= _settings.MinWindow.TotalSeconds && window.Batches >= _settings.MinBatches)
            || (window.Seconds >= _settings.MaxWindow.TotalSeconds && window.Batches >= _settings.MinBatchesLong)
            || (_trial is null && ClearlyStarved(window) && window.Seconds >= _settings.MinWindow.TotalSeconds && window.Batches >= _settings.MinBatchesStarved);
        if (!enough)
        {
            if (window.Seconds >= 4 * _settings.MaxWindow.TotalSeconds)
            {
                // Too few batches to judge anything (a paused consumer): start again.
                StartWindow(now, totals);
            }

            return false;
        }

        if (_trial is { } open && window.Seconds < _settings.MaxWindow.TotalSeconds && Assess(open, window).Open)
        {
            // A gain within the noise: the window goes on (to MaxWindow), its error shrinking with its ticks.
            return false;
        }

        StartWindow(now, totals);
        if (_trial is null)
        {
            // Measured at the setting the bounds were set from (a trial's own window differs by its change).
            foreach (var bound in (ReadOnlySpan<AutotuneBound>)[_workerCeiling, _workerFloor, _prefetchCeiling])
            {
                bound.ClearIfConditionsChanged(window, (Workers, Prefetch));
            }
        }

        return _trial is { } trial ? Judge(trial, window, now, totals) : Decide(window, now, totals);
    }

    private bool Judge(Trial trial, AutotuneWindow window, long now, AutotuneSample totals)
    {
        _trial = null;
        var before = trial.Before;
        var (kept, _, verdict) = Assess(trial, window);
        var bound = trial.Grow ? (trial.Workers != Workers ? _workerCeiling : _prefetchCeiling) : _workerFloor;
        if (kept)
        {
            bound.Paid();
            _status = Describe(_status.Changes, _status.Reason, $"{_status.Explanation}: kept ({verdict})");

            // The trial's window measured the new setting once it settled: decide the next step on it.
            return Decide(window, now, totals);
        }

        // The bound is the value that failed: a ceiling is not reached again, a floor not gone below.
        var cooldown = bound.Fail(trial.Workers != Workers ? Workers : Prefetch, now, before, (trial.Workers, trial.Prefetch), _time);
        var undone = trial.Workers != Workers ? $"workers {Workers} → {trial.Workers}" : $"prefetch {Prefetch} → {trial.Prefetch}";
        Change(trial.Workers, trial.Prefetch, trial.Grow ? "no_gain" : "loss", $"{undone}, undone ({verdict}); not tried again for {cooldown.TotalSeconds:0} s", now, totals);
        return true;
    }

    /// <summary>
    /// Whether the trial's window kept its setting (compared with the window before it), whether the outcome is still
    /// open (a larger setting that gained samples/s, but within the noise: more ticks may tell), and a description.
    /// </summary>
    private (bool Kept, bool Open, string Verdict) Assess(Trial trial, AutotuneWindow window)
    {
        var before = trial.Before;
        var gain = (window.Rate / Math.Max(before.Rate, 1e-9)) - 1;
        var shown = (Math.Round(gain, 2) + 0.0).ToString("+0%;-0%;0%", CultureInfo.InvariantCulture); // no "-0 %"

        // A difference within NoiseSigmas standard errors (from the spread of the ticks in both windows) is noise.
        var noise = _settings.NoiseSigmas * Math.Sqrt((before.RateError * before.RateError) + (window.RateError * window.RateError));
        var waitNoise = _settings.NoiseSigmas * Math.Sqrt((before.WaitError * before.WaitError) + (window.WaitError * window.WaitError));
        var waitHalved = window.Wait <= before.Wait * 0.5 && before.Wait - window.Wait > waitNoise;
        var verdict = string.Create(CultureInfo.InvariantCulture, $"{shown} samples/s (noise ±{noise / Math.Max(before.Rate, 1e-9):0%}), consumer wait {before.Wait:P0} → {window.Wait:P0}");
        if (!trial.Grow)
        {
            return (before.Rate - window.Rate <= Math.Max(before.Rate * _settings.Loss, noise) && (window.Wait < _settings.Starved || window.Wait <= before.Wait + 0.02), false, verdict);
        }

        var kept = window.Rate - before.Rate >= Math.Max(before.Rate * _settings.Gain, noise)
            || (waitHalved && before.Rate - window.Rate <= Math.Max(before.Rate * _settings.Loss, noise));
        return (kept, !kept && gain >= _settings.Gain, verdict);
    }

    private bool Decide(AutotuneWindow window, long now, AutotuneSample totals)
    {
        var measured = string.Create(CultureInfo.InvariantCulture, $"consumer waited {window.Wait:P0} of the time, workers {window.Busy:P0} busy");
        var fit = _limits.BuffersInBudget(totals.BufferBytes);
        if (window.Wait - (_settings.StarvedSigmas * window.WaitError) >= _settings.Starved)
        {
            var most = MostWorkers(fit, Prefetch);
            if (_limits.TuneWorkers && window.Busy >= _settings.Busy && Workers < most)
            {
                var factor = window.Busy >= 0.9 && window.Wait >= 0.25 ? 2.0 : 1.5;
                var workers = _workerCeiling.Limit(Workers, Math.Min(Math.Max(Workers + 1, (int)Math.Ceiling(Workers * factor)), most), now);
                if (workers > Workers)
                {
                    return Try(workers, Prefetch, grow: true, "starved_busy", $"{measured}: workers {Workers} → {workers}", window, now, totals);
                }
            }

            var prefetch = _prefetchCeiling.Limit(Prefetch, Math.Min(_limits.MaxPrefetch, Prefetch * 2), now);
            if (_limits.TunePrefetch && prefetch > Prefetch && _limits.PoolSize(Workers, prefetch) <= fit)
            {
                return Try(Workers, prefetch, grow: true, "starved_idle", $"{measured}: prefetch {Prefetch} → {prefetch}", window, now, totals);
            }

            if (_limits.TuneWorkers && window.Busy < 0.5)
            {
                return Shrink(window, "source_bound", measured, now, totals);
            }

            return false;
        }

        // A wait above the threshold only by its noise is neither starved nor fed: nothing to decide on.
        return _limits.TuneWorkers && window.Wait < _settings.Starved && Shrink(window, "consumer_bound", measured, now, totals);
    }

    /// <summary>
    /// Whether the consumer waits most of the time while the workers are all busy: more workers are the one move to
    /// try, decided on a few batches (<see cref="AutotuneSettings.MinBatchesStarved"/>); the move is still judged on a
    /// full window, so a decision made early is undone as any other when it does not pay.
    /// </summary>
    private bool ClearlyStarved(AutotuneWindow window) =>
        _limits.TuneWorkers && window.Wait >= _settings.ClearlyStarved && window.Busy >= _settings.ClearlyBusy;

    /// <summary>Fewer workers, down to those busy on average with headroom, at most half at once, not below a floor that failed.</summary>
    private bool Shrink(AutotuneWindow window, string reason, string measured, long now, AutotuneSample totals)
    {
        var target = Math.Max(1, (int)Math.Ceiling(window.Busy * Workers * _settings.Headroom));
        if (target > 0.75 * Workers)
        {
            return false;
        }

        target = _workerFloor.Limit(Workers, Math.Max(target, (Workers + 1) / 2), now);
        return target < Workers && Try(target, Prefetch, grow: false, reason, $"{measured}: workers {Workers} → {target}", window, now, totals);
    }

    private bool Try(int workers, int prefetch, bool grow, string reason, string explanation, AutotuneWindow before, long now, AutotuneSample totals)
    {
        if (workers == Workers && prefetch == Prefetch)
        {
            return false;
        }

        _trial = new Trial(Workers, Prefetch, grow, before);
        Change(workers, prefetch, reason, explanation, now, totals);
        return true;
    }

    /// <summary>Keeps the buffers within the budget when they grew (variable-length batches): prefetch first, then workers.</summary>
    private bool FitBudget(AutotuneSample totals)
    {
        var fit = _limits.BuffersInBudget(totals.BufferBytes);
        var (workers, prefetch) = (Workers, Prefetch);
        while (_limits.PoolSize(workers, prefetch) > fit && _limits.TunePrefetch && prefetch > 1)
        {
            prefetch--;
        }

        while (_limits.PoolSize(workers, prefetch) > fit && _limits.TuneWorkers && workers > 1)
        {
            workers--;
        }

        if (workers == Workers && prefetch == Prefetch)
        {
            return false;
        }

        Change(workers, prefetch, "memory_budget", string.Create(CultureInfo.InvariantCulture, $"{fit} buffers of {totals.BufferBytes:N0} bytes fit in the budget of {_limits.MemoryBudget:N0}: workers {Workers} → {workers}, prefetch {Prefetch} → {prefetch}"), _time.GetTimestamp(), totals);
        return true;
    }

    /// <summary>The pool must keep two buffers beyond those the consumer holds, or no batch could be made.</summary>
    private bool MakeRoomForConsumer(AutotuneSample totals)
    {
        if (_limits.FixedPoolSize != LoaderOptions.Auto || totals.HeldByConsumer + 2 <= PoolSize)
        {
            return false;
        }

        _holdFloor = totals.HeldByConsumer + 2;
        _status = Describe(_status.Changes + 1, "consumer_holds", $"the consumer holds {totals.HeldByConsumer} batches: pool {PoolSize}");
        return true;
    }

    private int MostWorkers(int fit, int prefetch)
    {
        var most = _limits.MaxWorkers;
        if (_limits.FixedPoolSize == LoaderOptions.Auto && fit != int.MaxValue)
        {
            most = Math.Min(most, (fit - prefetch - 2) / 2);
        }

        return Math.Max(1, most);
    }

    private void Change(int workers, int prefetch, string reason, string explanation, long now, AutotuneSample totals)
    {
        (Workers, Prefetch) = (workers, prefetch);
        _status = Describe(_status.Changes + 1, reason, explanation);
        Settle(now, totals);
    }

    private void Settle(long now, AutotuneSample totals)
    {
        _settling = (now, totals.Batches);
        StartWindow(now, totals);
    }

    private void StartWindow(long now, AutotuneSample totals)
    {
        _windowStart = (now, totals);
        _ticks.Clear();
    }

    private AutotuneStatus Describe(int changes, string reason, string explanation) =>
        new(Workers, Prefetch, PoolSize, _allocated, _limits.MemoryBudget, changes, reason, explanation);

    private AutotuneWindow Measure(long startAt, AutotuneSample start, long now, AutotuneSample end)
    {
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
            Math.Clamp(busy / (Workers * seconds), 0, 1),
            busy / samples,
            step / samples,
            rateError,
            waitError);
    }

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
            if (open.Samples >= _settings.BatchesPerBlock * samplesPerBatch)
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

    private double Seconds(long from, long to) => Math.Max(1e-9, (to - from) / (double)_time.TimestampFrequency);

    /// <summary>A change being judged: the setting before it and the window measured before it.</summary>
    private sealed record Trial(int Workers, int Prefetch, bool Grow, AutotuneWindow Before);
}
