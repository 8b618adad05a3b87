namespace StreamingLoader.Tests;

/// <summary>
/// Waiting for a condition instead of sleeping and hoping it holds: polls until it does (or fails after a limit far
/// above any healthy wait), so a loaded machine makes a test slower, never wrong.
/// </summary>
internal static class Eventually
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    /// <summary>Waits until <paramref name="condition"/> holds; fails with <paramref name="what"/> after the limit.</summary>
    public static async Task HoldsAsync(Func<bool> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Limit, $"After {Limit.TotalSeconds} s still not true: {what}");
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Waits until <paramref name="value"/> stops changing: the same for <paramref name="quiet"/> in a row. Returns it.
    /// </summary>
    public static async Task<long> SettlesAsync(Func<long> value, TimeSpan quiet, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var last = value();
        var since = clock.Elapsed;
        while (clock.Elapsed - since < quiet)
        {
            Assert.True(clock.Elapsed < Limit, $"After {Limit.TotalSeconds} s still changing: {what} (now {last})");
            await Task.Delay(10);
            var now = value();
            if (now != last)
            {
                (last, since) = (now, clock.Elapsed);
            }
        }

        return last;
    }
}
