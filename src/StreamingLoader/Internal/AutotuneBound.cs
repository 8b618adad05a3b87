namespace StreamingLoader.Internal;

/// <summary>
/// A value an <see cref="Autotuner"/> move failed to pass (a ceiling for growth, a floor for shrinking), held for a
/// cool-down that doubles with each failure. The next trial toward it goes halfway, so the values between are searched
/// by halving, not one by one. The cool-down ends early only when the conditions it was set under change in the
/// direction that could make the move pay (for a ceiling: more work per sample or a faster consumer; for a floor: the
/// opposite), measured at the same setting and seen on two windows in a row: measured at another setting, or on one
/// noisy window, the work per sample differs for reasons of its own (threads sharing cores stretch it).
/// </summary>
internal sealed class AutotuneBound(AutotuneSettings settings, bool ceiling)
{
    private AutotuneWindow _conditions;
    private (int Workers, int Prefetch) _setting;
    private long _until;
    private bool _changedOnce;

    public int Value { get; private set; }

    public TimeSpan Cooldown { get; private set; } = settings.Cooldown;

    public bool Active(long now) => Value > 0 && now < _until;

    /// <summary>
    /// How far a move from <paramref name="current"/> toward <paramref name="proposed"/> may go while the bound holds:
    /// halfway to it at most, and not at all when halfway is less than a fifth away (or one): a gain of a few percent
    /// is within a window's noise, so smaller steps would be trials that fail.
    /// </summary>
    public int Limit(int current, int proposed, long now)
    {
        if (!Active(now))
        {
            return proposed;
        }

        var halfway = current + ((Value - current) / 2);
        var limited = ceiling ? Math.Min(proposed, halfway) : Math.Max(proposed, halfway);
        return Math.Abs(limited - current) >= Math.Max(1, current / 5.0) ? limited : current;
    }

    /// <summary>
    /// Holds <paramref name="value"/> for the cool-down, which doubles for the next failure; <paramref name="conditions"/>
    /// were measured at <paramref name="setting"/>. Returns the cool-down.
    /// </summary>
    public TimeSpan Fail(int value, long now, AutotuneWindow conditions, (int Workers, int Prefetch) setting, TimeProvider time)
    {
        (Value, _conditions, _setting, _changedOnce) = (value, conditions, setting, false);
        var cooldown = Cooldown;
        _until = now + (long)(cooldown.TotalSeconds * time.TimestampFrequency);
        Cooldown = TimeSpan.FromTicks(Math.Min(Cooldown.Ticks * 2, settings.MaxCooldown.Ticks));
        return cooldown;
    }

    public void Paid() => Cooldown = settings.Cooldown;

    /// <summary>Ends the bound when <paramref name="window"/>, measured at <paramref name="setting"/>, is the second in a row to show the conditions changed.</summary>
    public void ClearIfConditionsChanged(AutotuneWindow window, (int Workers, int Prefetch) setting)
    {
        if (Value == 0 || setting != _setting)
        {
            return;
        }

        // More work per sample or a faster consumer may make growth pay; less, or a slower consumer, a smaller setting.
        var more = Rose(window.WorkPerSample, _conditions.WorkPerSample) || StepRose(_conditions, window);
        var less = Rose(_conditions.WorkPerSample, window.WorkPerSample) || StepRose(window, _conditions);
        var changed = ceiling ? more : less;
        if (changed && _changedOnce)
        {
            (Value, Cooldown, _changedOnce) = (0, settings.Cooldown, false);
            return;
        }

        _changedOnce = changed;
    }

    private bool Rose(double to, double from) => to > 0 && from > 0 && to >= from * settings.ConditionsChanged;

    /// <summary>
    /// Whether the consumer's step per sample rose from window <paramref name="from"/> to <paramref name="to"/>; only
    /// when the step takes at least <see cref="AutotuneSettings.Starved"/> of the time in one of them, else it is noise
    /// (a consumer that does nothing still spends a little between batches).
    /// </summary>
    private bool StepRose(AutotuneWindow to, AutotuneWindow from) =>
        Math.Max(to.StepPerSample * to.Rate, from.StepPerSample * from.Rate) >= settings.Starved && Rose(to.StepPerSample, from.StepPerSample);
}
