namespace StreamingLoader.Shards;

/// <summary>How shards that are not on local disk are read.</summary>
public enum RemoteReadMode
{
    /// <summary>
    /// Each shard is downloaded whole into the local cache (the next ones while the current one is read), then read from
    /// disk: the fastest way through a whole epoch, as Mosaic's StreamingDataset does.
    /// </summary>
    WholeShards,

    /// <summary>
    /// Only the byte ranges a reader asks for are fetched (a Parquet footer, then the row groups it reads), so a few
    /// samples from a large file do not download all of it.
    /// </summary>
    Ranges,
}
