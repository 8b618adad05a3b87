using System.Globalization;

namespace StreamingLoader.Shards;

/// <summary>
/// Where this process sits in a distributed job: its rank among <see cref="WorldSize"/> processes, and on its node
/// among <see cref="LocalWorldSize"/>, as <c>torchrun</c> sets <c>RANK</c>, <c>WORLD_SIZE</c>, <c>LOCAL_RANK</c> and
/// <c>LOCAL_WORLD_SIZE</c>.
/// </summary>
public sealed record World
{
    /// <summary>Creates a world, checking that each rank lies within its size.</summary>
    public World(int rank, int worldSize, int localRank = 0, int localWorldSize = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(localWorldSize);
        if (rank < 0 || rank >= worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize - 1}] for a world of {worldSize}.");
        }

        if (localRank < 0 || localRank >= localWorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(localRank), localRank, $"localRank must be in [0, {localWorldSize - 1}] for {localWorldSize} processes on a node.");
        }

        Rank = rank;
        WorldSize = worldSize;
        LocalRank = localRank;
        LocalWorldSize = localWorldSize;
    }

    /// <summary>Gets one process alone: rank 0 of 1.</summary>
    public static World Single { get; } = new(0, 1);

    /// <summary>Gets this process's rank, 0 to <see cref="WorldSize"/> − 1 (<c>RANK</c>).</summary>
    public int Rank { get; }

    /// <summary>Gets the number of processes in the job (<c>WORLD_SIZE</c>).</summary>
    public int WorldSize { get; }

    /// <summary>Gets this process's rank on its node (<c>LOCAL_RANK</c>).</summary>
    public int LocalRank { get; }

    /// <summary>Gets the number of processes on this node (<c>LOCAL_WORLD_SIZE</c>), who share its shard cache.</summary>
    public int LocalWorldSize { get; }

    /// <summary>
    /// Reads the world from <c>RANK</c>, <c>WORLD_SIZE</c>, <c>LOCAL_RANK</c> and <c>LOCAL_WORLD_SIZE</c> as
    /// <c>torchrun</c> sets them; <see cref="Single"/> when none is set. A value that is set but malformed, or a
    /// partial set (a rank without a world size), is an error naming the variable.
    /// </summary>
    public static World FromEnvironment() => FromVariables(Environment.GetEnvironmentVariable);

    /// <summary><see cref="FromEnvironment"/> over any variable lookup (for tests and launchers).</summary>
    public static World FromVariables(Func<string, string?> lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        var rank = Read(lookup, "RANK");
        var worldSize = Read(lookup, "WORLD_SIZE");
        var localRank = Read(lookup, "LOCAL_RANK");
        var localWorldSize = Read(lookup, "LOCAL_WORLD_SIZE");
        if (rank is null && worldSize is null)
        {
            if (localRank is not null || localWorldSize is not null)
            {
                throw new InvalidOperationException("LOCAL_RANK or LOCAL_WORLD_SIZE is set without RANK and WORLD_SIZE: set all four as torchrun does.");
            }

            return Single;
        }

        if (rank is null || worldSize is null)
        {
            throw new InvalidOperationException($"{(rank is null ? "WORLD_SIZE" : "RANK")} is set without {(rank is null ? "RANK" : "WORLD_SIZE")}: set both as torchrun does.");
        }

        try
        {
            return new World(rank.Value, worldSize.Value, localRank ?? 0, localWorldSize ?? 1);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new InvalidOperationException($"The environment's world (RANK={rank}, WORLD_SIZE={worldSize}, LOCAL_RANK={localRank}, LOCAL_WORLD_SIZE={localWorldSize}) is inconsistent: {ex.Message}", ex);
        }
    }

    private static int? Read(Func<string, string?> lookup, string name)
    {
        var text = lookup(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidOperationException($"The environment variable {name}='{text}' is not a non-negative integer.");
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"rank {Rank} of {WorldSize} (local {LocalRank} of {LocalWorldSize})");
}
