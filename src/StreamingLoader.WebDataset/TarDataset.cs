using StreamingLoader.Batching;
using StreamingLoader.Images;
using StreamingLoader.Shards;
using StreamingLoader.WebDataset.Internal;

namespace StreamingLoader.WebDataset;

/// <summary>
/// WebDataset tar shards (<c>.tar</c> files of <c>key.jpg</c> + <c>key.cls</c> or <c>key.json</c> groups) on local
/// disk, HTTP or S3, read as a stream: each epoch deals the shards, in an order shuffled from (seed, epoch), to the
/// ranks (shard k of that order to rank k mod world size), and each rank reads its shards start to end with
/// <see cref="System.Formats.Tar.TarReader"/>. A tar has no index, so there is no random access: mix samples across
/// shards with the loader's <see cref="LoaderOptions.ShuffleBufferSize"/>, as WebDataset's <c>shuffle(n)</c> does.
/// </summary>
/// <remarks>
/// A truncated or corrupted shard ends that shard with an error naming it, the member and its byte offset: the loader
/// fails with it, or under <see cref="ErrorPolicy.Skip"/> records it as a dead letter and goes on with the next shard.
/// Dispose the <see cref="ShardSource"/> after the loaders that read it.
/// </remarks>
public sealed class TarDataset
{
    /// <summary>Reads the tar shards of <paramref name="source"/> (open it with <c>Suffix = ".tar"</c>).</summary>
    public TarDataset(ShardSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Source = source;
    }

    /// <summary>Gets the shards read.</summary>
    public ShardSource Source { get; }

    /// <summary>
    /// This rank's samples, read once per enumeration (an epoch): the epoch's shard order comes from
    /// (<paramref name="seed"/>, epoch) alone, so every rank agrees on it.
    /// </summary>
    /// <param name="seed">The seed of the shard order; use the loader's.</param>
    /// <param name="options">The world (null: from torchrun's variables) and whether shards are shuffled; batch size and window do not apply.</param>
    /// <param name="firstEpoch">The epoch of the first enumeration.</param>
    public IAsyncEnumerable<TarSample> Stream(ulong seed, ShardingOptions options, long firstEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new TarStream(Source, seed, options.World ?? World.FromEnvironment(), options.Shuffle, firstEpoch);
    }

    /// <summary>
    /// A loader of this rank's images: <see cref="Stream"/> with the loader's seed, each sample given its random context
    /// and decoded by <c>Collate.TarImages(transform, imageOptions)</c> into <c>features</c> and <c>labels</c>.
    /// </summary>
    public DataLoader CreateImageLoader(ImageTransform transform, ShardingOptions sharding, LoaderOptions? options = null, TarImageOptions? imageOptions = null)
    {
        ArgumentNullException.ThrowIfNull(sharding);
        options ??= new LoaderOptions();
        var collator = Collate.TarImages(transform, imageOptions);
        return Pipeline.From(Stream(options.Seed, sharding)).Transform(static (sample, context) => new TarImageSample(sample, context)).Build(collator, options);
    }
}
