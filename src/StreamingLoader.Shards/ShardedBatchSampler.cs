using System.Globalization;
using StreamingLoader.Shards.Internal;
using StreamingLoader.Datasets;

namespace StreamingLoader.Shards;

/// <summary>
/// This rank's batches of a sharded dataset. Each epoch's global order comes from (seed, epoch) alone: the units
/// shuffled, then the samples within windows of units (<see cref="ShardingOptions.WindowUnits"/>). Rank r of W
/// reads the r-th contiguous part of that order, padded or cut so that every rank gets the same number of batches;
/// the union over ranks is each sample once per epoch (and the padding). Workers of a rank share its batches, one
/// batch each at a time.
/// </summary>
/// <remarks>
/// <para>
/// Elastic resume: <see cref="Checkpoint"/> turns the loader's <see cref="LoaderState"/> into an
/// <see cref="ElasticState"/> that records how much of the epoch each world size read. A sampler created from it at
/// another world size deals the rest of that epoch among its ranks, and <see cref="StartState"/> is the loader
/// state to build the loader with: the epoch's batches already read on the old world appear as delivered, so the
/// loader's own checks (same seed, batches per epoch and batch size) hold and nothing in the core changes.
/// </para>
/// <para>Pass it to <c>Pipeline.From(dataset, sampler)</c>; leave <see cref="LoaderOptions.Shuffle"/> and
/// <see cref="LoaderOptions.DropLast"/> off (the sampler decides).</para>
/// </remarks>
public sealed class ShardedBatchSampler : BatchSampler
{
    private readonly UnitTable _units;
    private readonly ShardingOptions _options;
    private readonly World _world;
    private readonly ElasticState? _resume;
    private readonly RankSplit _full;
    private readonly int[] _unitScratch;
    private readonly Lock _lock = new();
    private readonly int[]?[] _rankIndices = new int[]?[2];
    private int[]? _order;
    private int _calls;
    private int _resumeLeft;

    private ShardedBatchSampler(UnitTable units, ShardingOptions options, ElasticState? resume)
    {
        _units = units;
        _options = options;
        _world = options.World ?? World.FromEnvironment();
        _full = RankSplit.Of(units.Samples, _world.WorldSize, options.DropLast);
        _unitScratch = new int[units.Count];
        _resume = resume;
        if (resume is not null)
        {
            Validate(resume);
        }
    }

    /// <summary>
    /// A sampler over units holding <paramref name="rowsPerUnit"/> samples each, in the dataset's canonical order
    /// (shard by shard, then unit by unit: the order of the dataset's indices).
    /// </summary>
    /// <param name="rowsPerUnit">The samples of each unit; a dataset's <c>RowsPerUnit</c>.</param>
    /// <param name="options">Batching, shuffle and world; copied.</param>
    /// <param name="resumeFrom">A position saved by <see cref="Checkpoint"/>, at any world size; null starts at epoch 0.</param>
    public static ShardedBatchSampler Create(IReadOnlyList<int> rowsPerUnit, ShardingOptions options, ElasticState? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ShardedBatchSampler(new UnitTable(rowsPerUnit), options.Clone(), resumeFrom);
    }

    /// <summary>Gets the world this sampler deals to.</summary>
    public World World => _world;

    /// <inheritdoc/>
    public override int MaxBatchSize => _options.BatchSize;

    /// <inheritdoc/>
    public override int BatchesPerEpoch => _full.Batches(_options.BatchSize);

    /// <summary>Gets the samples each rank reads in a whole epoch (padding included).</summary>
    public int SamplesPerRank => _full.PerRank;

    /// <summary>Gets the samples in the dataset, over all ranks.</summary>
    public int Samples => _units.Samples;

    /// <summary>Gets how many samples of a whole epoch are repeats added so that every rank gets as many (0 with <see cref="ShardingOptions.DropLast"/>).</summary>
    public int PaddingPerEpoch => _full.Padding;

    /// <summary>
    /// Gets the loader state to build the loader with when this sampler resumes (<c>Build(..., resumeFrom: StartState)</c>),
    /// or null when it starts at epoch 0.
    /// </summary>
    public LoaderState? StartState => _resume is null ? null
        : new LoaderState(_resume.Epoch, Phantom(_resume.Epoch), _resume.Seed, BatchesPerEpoch, _units.Samples, BatchSize: MaxBatchSize);

    /// <summary>Called with each epoch's indices for this rank, in order, when the loader asks for them (prefetch planning).</summary>
    internal Action<long, ReadOnlyMemory<int>>? Planned { get; set; }

    /// <inheritdoc/>
    /// <remarks>The batches stay valid until the call after the next one: their storage is reused.</remarks>
    public override IReadOnlyList<ReadOnlyMemory<int>> GetBatches(ulong seed, long epoch)
    {
        lock (_lock)
        {
            var (sequence, length) = Sequence(seed, epoch);
            var split = RankSplit.Of(length, _world.WorldSize, _options.DropLast);
            // Two arrays used in turn: the loader copies a batch's indices when it sends the batch on and asks for the
            // next epoch only after the last batch of this one was sent, so an epoch's arrays are not allocated anew.
            var slot = _calls++ & 1;
            var indices = _rankIndices[slot];
            if (indices is null || indices.Length < split.PerRank)
            {
                indices = _rankIndices[slot] = new int[Math.Max(split.PerRank, _full.PerRank)];
            }
            for (var p = 0; p < split.PerRank; p++)
            {
                indices[p] = sequence[split.SourcePosition(_world.Rank, p)];
            }

            Planned?.Invoke(epoch, indices.AsMemory(0, split.PerRank));
            var phantom = BatchesPerEpoch - split.Batches(_options.BatchSize);
            return new RankBatches(indices, split.PerRank, _options.BatchSize, phantom, BatchesPerEpoch);
        }
    }

    /// <summary>
    /// This run's position as an <see cref="ElasticState"/>: the loader's <paramref name="state"/> (rank 0's, or any
    /// rank's: ranks deliver in step) plus what earlier world sizes read of the same epoch.
    /// </summary>
    /// <exception cref="ArgumentException">The state was not saved by a loader built on this sampler, or is not in step (an unordered loader's batches delivered ahead).</exception>
    public ElasticState Checkpoint(LoaderState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.BatchesPerEpoch != BatchesPerEpoch || state.SamplesPerEpoch != _units.Samples || (state.BatchSize != 0 && state.BatchSize != MaxBatchSize))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The loader state ({state.BatchesPerEpoch} batches of {state.SamplesPerEpoch} samples per epoch, batch size {state.BatchSize}) was not saved by a loader on this sampler ({BatchesPerEpoch} batches of {_units.Samples} samples, batch size {MaxBatchSize})."), nameof(state));
        }

        if (state.DeliveredAhead is { Count: > 0 })
        {
            throw new ArgumentException($"The loader state has batches delivered ahead of batch {state.NextBatch} ({string.Join(", ", state.DeliveredAhead)}): an elastic checkpoint needs every rank at the same batch, so use an ordered loader.", nameof(state));
        }

        if (_resume is not null && state.Seed != _resume.Seed)
        {
            throw new ArgumentException($"The loader state's seed {state.Seed} is not the seed {_resume.Seed} this sampler resumed with.", nameof(state));
        }

        var segments = new List<ElasticSegment>();
        var phantom = 0;
        if (_resume is not null && state.Epoch == _resume.Epoch)
        {
            segments.AddRange(_resume.Segments);
            phantom = Phantom(state.Epoch);
        }

        var read = state.NextBatch - phantom;
        if (read < 0)
        {
            throw new ArgumentException($"The loader state's batch {state.NextBatch} is before the {phantom} batches this sampler's resume marked as read.", nameof(state));
        }

        if (read > 0)
        {
            segments.Add(new ElasticSegment(_world.WorldSize, read));
        }

        return new ElasticState(state.Seed, state.Epoch, MaxBatchSize, _units.Samples, _options.DropLast, segments);
    }

    /// <summary>The rest of <paramref name="epoch"/>'s global order, after the parts read at earlier world sizes.</summary>
    private (int[] Sequence, int Length) Sequence(ulong seed, long epoch)
    {
        if (_order is null)
        {
            _order = new int[_units.Samples];
        }

        EpochOrder.Fill(_units, seed, epoch, _options.Shuffle, _options.WindowUnits, _order, _unitScratch);
        if (_resume is null || epoch != _resume.Epoch)
        {
            return (_order, _order.Length);
        }

        int[] rest = _order;
        foreach (var segment in _resume.Segments)
        {
            rest = RankSplit.Of(rest.Length, segment.WorldSize, _options.DropLast).Remaining(rest, segment.Batches, _options.BatchSize);
        }

        return (rest, rest.Length);
    }

    /// <summary>The batches of a resumed epoch that earlier world sizes read, shown to the loader as delivered.</summary>
    private int Phantom(long epoch) =>
        _resume is null || epoch != _resume.Epoch ? 0 : BatchesPerEpoch - RankSplit.Of(_resumeLeft, _world.WorldSize, _options.DropLast).Batches(_options.BatchSize);

    private void Validate(ElasticState resume)
    {
        var problems = new List<string>();
        if (resume.BatchSize != _options.BatchSize)
        {
            problems.Add($"batch size {resume.BatchSize}, not {_options.BatchSize}");
        }

        if (resume.Samples != _units.Samples)
        {
            problems.Add($"{resume.Samples} samples, not the dataset's {_units.Samples}");
        }

        if (resume.DropLast != _options.DropLast)
        {
            problems.Add($"DropLast {resume.DropLast}, not {_options.DropLast}");
        }

        if (resume.Epoch < 0)
        {
            problems.Add($"epoch {resume.Epoch}");
        }

        var left = resume.Samples;
        foreach (var segment in resume.Segments)
        {
            if (segment.WorldSize <= 0 || segment.Batches < 0)
            {
                problems.Add($"segment {segment}");
                break;
            }

            var split = RankSplit.Of(left, segment.WorldSize, resume.DropLast);
            if (segment.Batches > split.Batches(resume.BatchSize))
            {
                problems.Add($"segment {segment} reads more than the {split.Batches(resume.BatchSize)} batches left");
                break;
            }

            left = split.Remaining(new int[left], segment.Batches, resume.BatchSize).Length;
        }

        _resumeLeft = left;

        if (problems.Count > 0)
        {
            throw new ArgumentException($"The elastic state does not fit this sampler: {string.Join("; ", problems)}.", nameof(resume));
        }
    }

    /// <summary>A rank's indices cut into batches, after <c>phantom</c> empty places for batches read before a resume.</summary>
    private sealed class RankBatches(int[] indices, int length, int batchSize, int phantom, int count) : IReadOnlyList<ReadOnlyMemory<int>>
    {
        public int Count => count;

        public ReadOnlyMemory<int> this[int index]
        {
            get
            {
                ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)count, nameof(index));
                if (index < phantom)
                {
                    return ReadOnlyMemory<int>.Empty;
                }

                var start = (int)((long)(index - phantom) * batchSize);
                return indices.AsMemory(start, Math.Min(batchSize, length - start));
            }
        }

        public IEnumerator<ReadOnlyMemory<int>> GetEnumerator()
        {
            for (var b = 0; b < count; b++)
            {
                yield return this[b];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
