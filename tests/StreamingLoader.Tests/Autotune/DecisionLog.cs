using System.Globalization;

namespace StreamingLoader.Tests.Autotune;

/// <summary>
/// The changes a <see cref="SimulatedPipeline"/>'s tuner makes, taken after each tick: a log for failure messages, and
/// the moves undone for not paying, with when.
/// </summary>
internal sealed class DecisionLog(SimulatedPipeline pipeline)
{
    private readonly List<string> _lines = [];
    private int _changes = pipeline.Tuner.Status.Changes;

    /// <summary>Gets each move undone ("workers 4 → 2", as the status explains it) and the time it was undone.</summary>
    public List<(double Seconds, string Move)> Undone { get; } = [];

    public void Take()
    {
        var status = pipeline.Tuner.Status;
        if (status.Changes == _changes)
        {
            return;
        }

        _changes = status.Changes;
        _lines.Add(string.Create(CultureInfo.InvariantCulture, $"{pipeline.Seconds:F1} s: {status.Reason}: {status.Explanation}"));
        if (status.Reason == "no_gain")
        {
            Undone.Add((pipeline.Seconds, status.Explanation[..status.Explanation.IndexOf(',', StringComparison.Ordinal)]));
        }
    }

    /// <summary>Whether a move was undone twice within the first cool-down: tried again before its cool-down ended.</summary>
    public bool RetriedWithinCooldown() =>
        Undone.Where((u, i) => Undone.Take(i).Any(e => e.Move == u.Move && u.Seconds - e.Seconds < pipeline.Settings.Cooldown.TotalSeconds)).Any();

    public override string ToString() => string.Join('\n', _lines);
}
