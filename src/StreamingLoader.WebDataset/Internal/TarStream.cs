using System.Runtime.CompilerServices;
using StreamingLoader.Shards;
using StreamingLoader.Shards.Internal;

namespace StreamingLoader.WebDataset.Internal;

/// <summary>
/// The samples of a rank's tar shards, read once each epoch (each enumeration): the shard order shuffled from (seed,
/// epoch) and dealt round robin to the ranks (<see cref="StreamShards"/>), each shard read start to end. Remote shards
/// come through the source's cache, the next ones downloaded while the current one is read. A shard that cannot be
/// fetched or read gives one failed sample (the collator reports it: an error, or a dead letter under Skip) and the
/// stream goes on with the next shard.
/// </summary>
internal sealed class TarStream(ShardSource source, ulong seed, World world, bool shuffle, long firstEpoch) : IAsyncEnumerable<TarSample>
{
    private const int BufferBytes = 1 << 18;
    private long _enumerations;

    public async IAsyncEnumerator<TarSample> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        var epoch = firstEpoch + Interlocked.Increment(ref _enumerations) - 1;
        var shards = StreamShards.Of(source.Shards.Count, seed, epoch, world, shuffle);
        if (!source.IsLocal)
        {
            source.Plan(shards);
        }

        foreach (var shard in shards)
        {
            var address = source.Shards[shard].Address;
            var (file, error) = await OpenAsync(shard, address, cancellationToken).ConfigureAwait(false);
            if (file is null)
            {
                yield return new TarSample(address, "(shard)", [], error);
                continue;
            }

            using (file)
            {
                var stream = new BufferedStream(file.OpenStream(), BufferBytes);
                await using (stream.ConfigureAwait(false))
                {
                    foreach (var sample in TarShardReader.Read(stream, address))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        yield return sample;
                    }
                }
            }
        }
    }

    private async Task<(ShardFile? File, Exception? Error)> OpenAsync(int shard, string address, CancellationToken cancellationToken)
    {
        try
        {
            return (await source.OpenShardAsync(shard, cancellationToken).ConfigureAwait(false), null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (null, new InvalidDataException($"The shard {address} could not be fetched: {ex.Message}", ex));
        }
    }
}
