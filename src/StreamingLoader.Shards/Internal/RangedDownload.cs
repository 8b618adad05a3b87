namespace StreamingLoader.Shards.Internal;

/// <summary>
/// Downloads a shard into its part file: its ranges side by side, each under its own retries; an interrupted range
/// resumes at the bytes it already wrote. When one range fails for good, the others are stopped.
/// </summary>
internal static class RangedDownload
{
    /// <summary>Fills every range of <paramref name="part"/> from the storage's object <paramref name="key"/>.</summary>
    public static async Task RunAsync(IShardStorage storage, Retrier retrier, string key, string address, PartFile part, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ranges = new Task[part.Ranges];
        for (var r = 0; r < ranges.Length; r++)
        {
            ranges[r] = RangeAsync(storage, retrier, key, address, part, r, stop);
        }

        // Faulted if one range failed (its error, not the cancellation of the ranges it stopped).
        await Task.WhenAll(ranges).ConfigureAwait(false);
    }

    private static async Task RangeAsync(IShardStorage storage, Retrier retrier, string key, string address, PartFile part, int range, CancellationTokenSource stop)
    {
        try
        {
            await retrier.RunAsync(
                async _ =>
                {
                    var (offset, end) = part.Remaining(range);
                    if (offset < end)
                    {
                        var body = await storage.OpenReadAsync(key, offset, end, stop.Token).ConfigureAwait(false);
                        await using (body.ConfigureAwait(false))
                        {
                            await part.WriteAsync(range, body, address, stop.Token).ConfigureAwait(false);
                        }
                    }

                    return true;
                },
                $"Downloading {address}",
                stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }
}
