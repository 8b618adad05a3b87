namespace StreamingLoader.Sources;

/// <summary>
/// The new files of a folder as an iterable source (images, record files dropped by a producer): each file once, in
/// arrival order, and only once complete: temporary names (see <see cref="FolderWatchOptions.TemporarySuffixes"/>)
/// are passed over until renamed, and a file is taken only after its size and modification time have stayed the
/// same for <see cref="FolderWatchOptions.StableFor"/>. The files consumed are its position: <see cref="PositionAfter"/>.
/// </summary>
/// <example>
/// <code>
/// var watch = new FolderWatch("incoming", resumeFrom: saved);
/// await using var loader = Pipeline.From(watch).Transform((file, _) => LoadImage(file.Path)).Build(options);
/// await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
/// {
///     using (batch) { Train(batch); saved = watch.PositionAfter(batch); }
/// }
/// </code>
/// </example>
/// <remarks>
/// Files arriving in the same listing are ordered by modification time, then name. A file of a consumed name that
/// appears again is not read again. Enumerated again (the loader's next epoch), the watch goes on with files not
/// yielded yet.
/// </remarks>
public sealed class FolderWatch : IAsyncEnumerable<WatchedFile>, Internal.ISelfPositionedSource
{
    private readonly string _folder;
    private readonly FolderWatchOptions _options;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _yielded;
    private readonly List<string> _order;
    private readonly int _resumed;
    private readonly List<int> _enumerationStarts = [];

    string Internal.ISelfPositionedSource.PositionName => $"its {nameof(FolderWatchPosition)} ({nameof(FolderWatch)}.{nameof(PositionAfter)}, passed to new {nameof(FolderWatch)}(resumeFrom: ...))";

    /// <summary>Watches <paramref name="folder"/> (top level only).</summary>
    /// <param name="folder">The folder; it must exist.</param>
    /// <param name="options">How to watch; copied.</param>
    /// <param name="resumeFrom">The position saved by an earlier run: its files are not read again.</param>
    public FolderWatch(string folder, FolderWatchOptions? options = null, FolderWatchPosition? resumeFrom = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The folder to watch does not exist: {folder}");
        }

        _folder = Path.GetFullPath(folder);
        _options = (options ?? new FolderWatchOptions()).Clone();
        _order = [.. resumeFrom?.Consumed ?? []];
        _yielded = new HashSet<string>(_order, StringComparer.Ordinal);
        _resumed = _order.Count;
    }

    /// <summary>
    /// Gets the position after the files in <paramref name="batch"/> and every file before them (call it before
    /// disposing the batch): exact when batches arrive in order, the loader's default.
    /// </summary>
    public FolderWatchPosition PositionAfter(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var indices = batch.SampleIndices;
        var last = 0L;
        foreach (var index in indices)
        {
            last = Math.Max(last, index);
        }

        lock (_lock)
        {
            if (batch.Epoch >= _enumerationStarts.Count)
            {
                throw new ArgumentException("The batch did not come from this watch.", nameof(batch));
            }

            // The loader numbers each epoch's samples from 0; an epoch is one enumeration of the watch.
            var end = _enumerationStarts[(int)batch.Epoch] + (int)last + 1;
            return new FolderWatchPosition(_order[..end]);
        }
    }

    /// <inheritdoc/>
    public IAsyncEnumerator<WatchedFile> GetAsyncEnumerator(CancellationToken cancellationToken = default) => WatchAsync(cancellationToken);

    private async IAsyncEnumerator<WatchedFile> WatchAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _enumerationStarts.Add(_order.Count);
        }

        var time = _options.TimeProvider;
        var candidates = new Dictionary<string, Candidate>(StringComparer.Ordinal);
        var lastFile = time.GetTimestamp();
        long listing = 0;
        while (true)
        {
            listing++;
            var now = time.GetTimestamp();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var info in new DirectoryInfo(_folder).EnumerateFiles(_options.Pattern))
            {
                var name = info.Name;
                if (_options.IsTemporary(name) || _yielded.Contains(name))
                {
                    continue;
                }

                seen.Add(name);
                var length = info.Length;
                var written = info.LastWriteTimeUtc;
                if (!candidates.TryGetValue(name, out var candidate))
                {
                    candidates[name] = new Candidate(listing, length, written, now);
                }
                else if (candidate.Length != length || candidate.LastWriteUtc != written)
                {
                    candidates[name] = candidate with { Length = length, LastWriteUtc = written, UnchangedSince = now };
                }
            }

            foreach (var gone in candidates.Keys.Where(name => !seen.Contains(name)).ToList())
            {
                candidates.Remove(gone);
            }

            var ready = candidates
                .Where(pair => time.GetElapsedTime(pair.Value.UnchangedSince, now) >= _options.StableFor)
                .OrderBy(pair => pair.Value.Listing).ThenBy(pair => pair.Value.LastWriteUtc).ThenBy(pair => pair.Key, StringComparer.Ordinal)
                .ToList();
            foreach (var (name, candidate) in ready)
            {
                candidates.Remove(name);
                long sequence;
                lock (_lock)
                {
                    _yielded.Add(name);
                    _order.Add(name);
                    sequence = _order.Count - 1 - _resumed;
                }

                lastFile = time.GetTimestamp();
                yield return new WatchedFile(Path.Combine(_folder, name), candidate.Length, candidate.LastWriteUtc, sequence);
            }

            if (ready.Count == 0 && time.Expired(lastFile, _options.IdleTimeout))
            {
                yield break;
            }

            await Task.Delay(_options.PollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A file not yet complete: when it was first listed, and since when it has not changed.</summary>
    private sealed record Candidate(long Listing, long Length, DateTime LastWriteUtc, long UnchangedSince);
}
