using System.Globalization;

namespace StreamingLoader.Telemetry;

/// <summary>
/// What the autotuner has set now and why (<see cref="LoaderOptions.Auto"/> workers or prefetch): the same values as
/// the <c>streamingloader.autotune.*</c> metrics.
/// </summary>
/// <param name="Workers">Messages each parallel stage works on at once now.</param>
/// <param name="Prefetch">Batches the pool keeps beyond the workers' needs, to be ready ahead of the consumer.</param>
/// <param name="PoolSize">Batch buffers the pool may hold now.</param>
/// <param name="MemoryBytes">Bytes of the batch buffers allocated now.</param>
/// <param name="MemoryBudget">The bytes the batch buffers may take (<see cref="LoaderOptions.MemoryBudget"/>, resolved).</param>
/// <param name="Changes">Changes made since the loader started.</param>
/// <param name="Reason">Why the last change was made (or why nothing changed yet): a short code, the <c>reason</c> tag of the metrics.</param>
/// <param name="Explanation">The last change in words, with the measurements that led to it.</param>
public sealed record AutotuneStatus(int Workers, int Prefetch, int PoolSize, long MemoryBytes, long MemoryBudget, int Changes, string Reason, string Explanation)
{
    /// <summary>One line for a progress display: the knobs, the memory against its budget, and the last reason.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"autotune: {Workers} workers, prefetch {Prefetch}, pool {PoolSize} ({MemoryBytes / 1048576.0:F1} of {MemoryBudget / 1048576.0:F0} MiB); {Changes} changes, last: {Explanation}");
}
