namespace StreamingLoader.Internal;

/// <summary>
/// The checks that involve more than one option, or an option and the source, run once when a loader is built.
/// Every problem is reported in one error, so a user fixes them all at once instead of one per run.
/// </summary>
internal static class OptionsValidator
{
    public static void Validate(LoaderOptions options, SourceSpec source, LoaderState? resumeFrom, bool packing = false)
    {
        var problems = new List<string>();
        if (source is MapSourceBase map)
        {
            if (map.HasBatchSampler)
            {
                if (options.Shuffle)
                {
                    problems.Add("Shuffle cannot be combined with a batch sampler: the batch sampler decides the order.");
                }

                if (options.DropLast)
                {
                    problems.Add("DropLast cannot be combined with a batch sampler: the batch sampler decides the batches.");
                }
            }
            else if (map.HasSampler && options.Shuffle)
            {
                problems.Add("Shuffle cannot be combined with a sampler: the sampler decides the order.");
            }

        }
        else
        {
            if (options.Shuffle)
            {
                problems.Add("Shuffle orders a map-style dataset through its sampler; an iterable source is read as it comes: set ShuffleBufferSize to mix it instead.");
            }

            if (resumeFrom is not null && source is IterableSourceBase { SelfPositioned: { } live })
            {
                problems.Add($"This source keeps its own position, so a LoaderState cannot resume it (and using both would skip or repeat the batches between them): resume from {live.PositionName}.");
            }
            else if (resumeFrom is not null && source is IterableSourceBase { Reenumerable: false })
            {
                problems.Add("A channel is read once, so a resumed loader cannot read it again up to the saved position: resume from the producer's own position (TailPosition, FolderWatchPosition, broker acknowledgements).");
            }

            if (resumeFrom is not null && options.BatchTimeout != Timeout.InfiniteTimeSpan)
            {
                problems.Add("With BatchTimeout a stream's batches are cut by time, so a batch position does not say how many items were delivered: resume without BatchTimeout, or from the source's own position (TailPosition, FolderWatchPosition, broker acknowledgements).");
            }
        }


        foreach (var stage in options.StageErrorPolicies.Keys)
        {
            if (stage is not (PipelineStage.Read or PipelineStage.Transform or PipelineStage.Collate))
            {
                problems.Add($"StageErrorPolicies names stage {stage}: a policy applies to {PipelineStage.Read}, {PipelineStage.Transform} or {PipelineStage.Collate}, where one sample fails without the others (a source that throws cannot go on past the error).");
            }
        }

        if (options.Bucketing is { } bucketing)
        {
            if (bucketing.BatchSizes is { } sizes && sizes.Count != bucketing.Boundaries.Count + 1)
            {
                problems.Add($"Bucketing has {bucketing.Boundaries.Count} boundaries, so {bucketing.Boundaries.Count + 1} buckets, but {sizes.Count} batch sizes: give one per bucket.");
            }

            if (packing)
            {
                problems.Add("Bucketing cannot be combined with a packing collator: packed rows have no padding to save.");
            }
        }

        if (options.MemoryBudget != LoaderOptions.Auto && options.Workers != LoaderOptions.Auto && options.Prefetch != LoaderOptions.Auto)
        {
            problems.Add($"MemoryBudget {options.MemoryBudget:N0} bounds what the autotuner may use, but nothing is tuned: set Workers or Prefetch to LoaderOptions.Auto, or bound memory with PoolSize.");
        }

        if (options.Workers == 0 && options.Prefetch == LoaderOptions.Auto)
        {
            problems.Add("Workers = 0 reads a batch only when the consumer asks for it, so nothing is prefetched to tune: with Prefetch = LoaderOptions.Auto use Workers = LoaderOptions.Auto or 1 or more.");
        }

        if (options.Workers == 0 && (options.ShuffleBufferSize > 0 || options.Bucketing is not null || packing))
        {
            problems.Add("Workers = 0 reads a batch only when the consumer asks for it, and a shuffle buffer, length buckets or packing must read ahead to fill a batch: use Workers = 1 or more.");
        }

        if (options.PoolSize != LoaderOptions.Auto && options.PoolSize < 2)
        {
            problems.Add($"PoolSize {options.PoolSize} leaves no buffer to make the next batch while the consumer holds one: use at least 2.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(
                $"The loader's options do not fit together:{Environment.NewLine}- {string.Join(Environment.NewLine + "- ", problems)}", nameof(options));
        }
    }

    /// <summary>
    /// Checks that <paramref name="resumeFrom"/> was saved by a loader configured like this one and that its position
    /// lies in an epoch. <paramref name="mapStyle"/>: the epoch has a known number of batches (an iterable source has
    /// none, and neither have regrouped batches: the position is then bounded only below).
    /// </summary>
    public static void ValidateResume(LoaderState resumeFrom, LoaderOptions options, string ordering, int batchesPerEpoch, int samplesPerEpoch, int maxBatch, bool mapStyle)
    {
        if (resumeFrom.Ordering is { } saved && saved != ordering)
        {
            throw new ArgumentException(
                $"The state was saved by a loader that orders its batches differently, so resuming would skip or repeat samples. Saved: {saved}. This loader: {ordering}.",
                nameof(resumeFrom));
        }

        if (resumeFrom.Seed != options.Seed || resumeFrom.BatchesPerEpoch != batchesPerEpoch || resumeFrom.SamplesPerEpoch != samplesPerEpoch
            || (resumeFrom.BatchSize != 0 && resumeFrom.BatchSize != maxBatch))
        {
            throw new ArgumentException(
                $"The state (seed {resumeFrom.Seed}, {resumeFrom.BatchesPerEpoch} batches of {resumeFrom.SamplesPerEpoch} samples per epoch, batch size {resumeFrom.BatchSize}) was saved by a loader configured differently from this one (seed {options.Seed}, {batchesPerEpoch} batches of {samplesPerEpoch} samples, batch size {maxBatch}).",
                nameof(resumeFrom));
        }

        if (resumeFrom.Epoch < 0 || resumeFrom.NextBatch < 0 || (mapStyle && resumeFrom.NextBatch > batchesPerEpoch))
        {
            throw new ArgumentOutOfRangeException(nameof(resumeFrom), $"The state's position (epoch {resumeFrom.Epoch}, batch {resumeFrom.NextBatch}) is outside an epoch of {batchesPerEpoch} batches.");
        }

        if (resumeFrom.DeliveredAhead?.Any(b => b <= resumeFrom.NextBatch || (mapStyle && b >= batchesPerEpoch)) == true)
        {
            throw new ArgumentOutOfRangeException(nameof(resumeFrom), $"The state's batches delivered ahead ({string.Join(", ", resumeFrom.DeliveredAhead)}) are not between batch {resumeFrom.NextBatch} and the end of an epoch of {batchesPerEpoch} batches.");
        }
    }
}
