using System.Globalization;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Internal;

/// <summary>
/// The autotuner's decisions, apart from the loader so that tests drive it with a fake clock and made-up totals.
/// Each window of enough batches (<see cref="AutotuneSettings"/>) gives samples/s, the consumer's share of time waiting
/// and the workers' share of time busy. A starved consumer with busy workers gets more workers (×2 when clearly
/// starved, else ×1.5); a starved consumer with idle workers gets more prefetch; a consumer that keeps the loader
/// waiting gets fewer workers, down to what it uses with headroom. Each change is a trial judged on the next window:
/// a larger setting must bring more samples/s (or halve the consumer's wait), a smaller one must not cost any. A gain
/// within the noise is judged on a longer window; still within it, the setting is undone and the undone setting
/// measured afresh against it (the window before a trial may be off). One that fails is not tried again for a
/// cool-down (doubling with each failure; the values between are tried by halving) unless the work per sample or the
/// consumer's step changes in a way that could make it pay (<see cref="AutotuneBound"/>). The buffers always fit in
/// the memory budget, and the consumer always has room.
/// </summary>
internal sealed class Autotuner
{
    private readonly AutotuneLimits _limits;
    private readonly AutotuneSettings _settings;
    private readonly TimeProvider _time;
    private readonly AutotuneBound _workerCeiling;
    private readonly AutotuneBound _workerFloor;
    private readonly AutotuneBound _prefetchCeiling;
    private readonly AutotuneMeter _meter;
    private (long At, long Batches)? _settling;
    private Trial? _trial;
    private Recheck? _recheck;
    private int _holdFloor;
    private long _allocated;
    private volatile AutotuneStatus _status;

    public Autotuner(AutotuneLimits limits, AutotuneSettings settings, TimeProvider time)
    {
        (_limits, _settings, _time) = (limits, settings, time);
        _meter = new AutotuneMeter(settings, time);
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
        var tick = _meter.Take(now, totals);
        if (!_meter.Started)
        {
            Settle(now, totals);
            return false;
        }

        if (FitBudget(totals) | MakeRoomForConsumer(totals))
        {
            (_trial, _recheck) = (null, null);
            Settle(now, totals);
            return true;
        }

        if (_settling is { } settling)
        {
            if (_meter.Seconds(settling.At, now) < _settings.Settle.TotalSeconds || totals.Batches - settling.Batches < _settings.SettleBatches)
            {
                return false;
            }

            _settling = null;
            StartWindow(now, totals);
            return false;
        }

        var window = _meter.Measure(tick, now, totals, Workers);
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
        if (_recheck is { } recheck)
        {
            _recheck = null;
            if (Regain(recheck, window, now, totals))
            {
                return true;
            }
        }

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
        var (kept, open, verdict) = Assess(trial, window);
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

        // A gain within the noise may be real, the window before the trial off (a consumer that just sped up takes the
        // batches queued while it was slower): the larger setting's window is compared with one of the undone setting.
        _recheck = open ? new Recheck(Workers, Prefetch, window, bound) : null;
        Change(trial.Workers, trial.Prefetch, trial.Grow ? "no_gain" : "loss", $"{undone}, undone ({verdict}); not tried again for {cooldown.TotalSeconds:0} s", now, totals);
        return true;
    }

    /// <summary>Goes back to the larger setting of <paramref name="recheck"/> when it beats <paramref name="window"/>, measured afresh at the setting it was undone to.</summary>
    private bool Regain(Recheck recheck, AutotuneWindow window, long now, AutotuneSample totals)
    {
        var noise = _settings.NoiseSigmas * Math.Sqrt((recheck.Larger.RateError * recheck.Larger.RateError) + (window.RateError * window.RateError));
        if (recheck.Larger.Rate - window.Rate < Math.Max(window.Rate * _settings.Gain, noise))
        {
            return false;
        }

        recheck.Bound.Clear();
        var move = recheck.Workers != Workers ? $"workers {Workers} → {recheck.Workers}" : $"prefetch {Prefetch} → {recheck.Prefetch}";
        var gain = ((recheck.Larger.Rate / Math.Max(window.Rate, 1e-9)) - 1).ToString("+0%;-0%;0%", CultureInfo.InvariantCulture);
        Change(recheck.Workers, recheck.Prefetch, "regained", string.Create(CultureInfo.InvariantCulture, $"{move} again: {gain} samples/s over this setting measured afresh (noise ±{noise / Math.Max(window.Rate, 1e-9):0%})"), now, totals);
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

    private void StartWindow(long now, AutotuneSample totals) => _meter.Start(now, totals);

    private AutotuneStatus Describe(int changes, string reason, string explanation) =>
        new(Workers, Prefetch, PoolSize, _allocated, _limits.MemoryBudget, changes, reason, explanation);

    /// <summary>A larger setting undone on a gain within the noise: its window, and the bound its undoing set.</summary>
    private sealed record Recheck(int Workers, int Prefetch, AutotuneWindow Larger, AutotuneBound Bound);

    /// <summary>A change being judged: the setting before it and the window measured before it.</summary>
    private sealed record Trial(int Workers, int Prefetch, bool Grow, AutotuneWindow Before);
}
