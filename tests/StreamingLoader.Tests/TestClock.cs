using Microsoft.Extensions.Time.Testing;

namespace StreamingLoader.Tests;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also tells when the loader starts a timer of a given due time: a test advances
/// the clock only once the loader is waiting on it, so no wait can start after the advance and miss it.
/// </summary>
internal sealed class TestClock : TimeProvider
{
    private readonly FakeTimeProvider _fake = new();
    private readonly List<(TimeSpan DueTime, TaskCompletionSource Created)> _watches = [];
    private readonly Lock _lock = new();

    public override long TimestampFrequency => _fake.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => _fake.GetUtcNow();

    public override long GetTimestamp() => _fake.GetTimestamp();

    public void Advance(TimeSpan by) => _fake.Advance(by);

    /// <summary>Completes once a timer due <paramref name="dueTime"/> after its creation is created after this call.</summary>
    public Task NextTimer(TimeSpan dueTime)
    {
        lock (_lock)
        {
            var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _watches.Add((dueTime, created));
            return created.Task;
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = _fake.CreateTimer(callback, state, dueTime, period);
        lock (_lock)
        {
            foreach (var watch in _watches.Where(w => w.DueTime == dueTime).ToList())
            {
                watch.Created.TrySetResult();
                _watches.Remove(watch);
            }
        }

        return timer;
    }
}
