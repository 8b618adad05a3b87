namespace StreamingLoader.Internal;

/// <summary>
/// A value an <see cref="Autotuner"/> move failed to pass (a ceiling for growth, a floor for shrinking), held for a
/// cool-down that doubles with each failure and ends early when the work per sample or the consumer's step changes.
/// </summary>
internal sealed class AutotuneBound(AutotuneSettings settings)
{
    private AutotuneWindow _conditions;
    private long _until;

    public int Value { get; private set; }

    public TimeSpan Cooldown { get; private set; } = settings.Cooldown;

    public bool Active(long now) => Value > 0 && now < _until;

    /// <summary>Whether growing from <paramref name="current"/> is barred: the next value would reach the ceiling.</summary>
    public bool Blocks(int current, long now) => Active(now) && current + 1 >= Value;

    /// <summary><paramref name="proposed"/>, kept below the ceiling while it holds.</summary>
    public int Below(int proposed, long now) => Active(now) ? Math.Min(proposed, Value - 1) : proposed;

    /// <summary>Holds <paramref name="value"/> for the cool-down, which doubles for the next failure; returns the cool-down.</summary>
    public TimeSpan Fail(int value, long now, AutotuneWindow conditions, TimeProvider time)
    {
        (Value, _conditions) = (value, conditions);
        var cooldown = Cooldown;
        _until = now + (long)(cooldown.TotalSeconds * time.TimestampFrequency);
        Cooldown = TimeSpan.FromTicks(Math.Min(Cooldown.Ticks * 2, settings.MaxCooldown.Ticks));
        return cooldown;
    }

    public void Paid() => Cooldown = settings.Cooldown;

    public void ClearIfConditionsChanged(AutotuneWindow now)
    {
        if (Value > 0 && (Changed(now.WorkPerSample, _conditions.WorkPerSample) || Changed(now.StepPerSample, _conditions.StepPerSample)))
        {
            (Value, Cooldown) = (0, settings.Cooldown);
        }
    }

    private bool Changed(double now, double then) =>
        now > 0 && then > 0 && (now >= then * settings.ConditionsChanged || now * settings.ConditionsChanged <= then);
}
