using StreamingLoader.Batching;
using StreamingLoader.Datasets;

namespace StreamingLoader.Internal;

/// <summary>
/// What decides the order of a loader's batches (<see cref="LoaderState.Ordering"/>): the source kind with its sampler
/// or batch size, the shuffle buffer, the length buckets and packing. A state saved under one ordering resumes only a
/// loader with the same one.
/// </summary>
internal static class LoaderOrdering
{
    public static string Describe<T>(LoaderOptions options, BatchSampler? batchSampler, Collator<T> collator)
    {
        var parts = new List<string>
        {
            batchSampler is not null
                ? $"dataset, {batchSampler.Describe()}"
                : $"stream, batches of {options.BatchSize}{(options.DropLast ? ", drop last" : "")}",
        };
        if (options.ShuffleBufferSize > 0)
        {
            parts.Add($"shuffle buffer {options.ShuffleBufferSize}");
        }

        if (options.Bucketing is { } b)
        {
            parts.Add($"buckets [{string.Join(", ", b.Boundaries)}] of [{string.Join(", ", b.BatchSizes ?? [])}], max tokens {b.MaxTokens}, field {b.Field ?? "first"}");
        }

        if (collator is PackingCollator<T> packing)
        {
            parts.Add($"packed rows of {packing.Packing.Length}");
        }

        return string.Join("; ", parts);
    }
}
