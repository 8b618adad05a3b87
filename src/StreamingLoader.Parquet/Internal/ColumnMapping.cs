using StreamingLoader.Shards;

namespace StreamingLoader.Parquet.Internal;

/// <summary>Maps a <see cref="TensorColumns"/> choice onto the columns of a Parquet dataset's shards.</summary>
internal static class ColumnMapping
{
    /// <summary>
    /// Finds the feature and label columns in every shard's layout and checks them: features a list of float32 of one
    /// length in every shard, the label an int64 or int32, and the same schema in every shard. Errors name the shard.
    /// </summary>
    /// <returns>The two columns' leaves and the features' length.</returns>
    public static (ParquetLeaf Features, ParquetLeaf Label, int Length) Map(ShardSource source, TensorColumns columns, ParquetLayout[] layouts)
    {
        ParquetLeaf? features = null, label = null;
        var length = 0;
        for (var s = 0; s < layouts.Length; s++)
        {
            var address = source.Shards[s].Address;
            var f = Leaf(layouts[s], columns.Features, address);
            var l = Leaf(layouts[s], columns.Label, address);
            if (f.Type != ParquetSharp.PhysicalType.Float || !f.Repeated)
            {
                throw new InvalidDataException($"The shard {address}: column '{columns.Features}' is {(f.Repeated ? "a list of " : "")}{f.Type}, not a list of float32.");
            }

            if (l.Repeated || l.Type is not (ParquetSharp.PhysicalType.Int64 or ParquetSharp.PhysicalType.Int32))
            {
                throw new InvalidDataException($"The shard {address}: column '{columns.Label}' is {(l.Repeated ? "a list of " : "")}{l.Type}, not int64 or int32.");
            }

            var k = ParquetFooter.FixedLength(layouts[s].RowGroupRows, f.ValuesPerRowGroup);
            if (k is null || (length != 0 && k != length && layouts[s].RowGroupRows.Any(r => r > 0)))
            {
                throw new InvalidDataException($"The shard {address}: column '{columns.Features}' does not hold lists of one length{(length != 0 ? $" ({length}, as the shards before)" : "")}; variable-length lists are not delivered as fixed-shape features.");
            }

            length = length == 0 ? k.Value : length;
            if (s == 0)
            {
                (features, label) = (f, l);
            }
            else if (f.Index != features!.Index || l.Index != label!.Index || l.Type != label.Type)
            {
                throw new InvalidDataException($"The shard {address} has a different schema from {source.Shards[0].Address} (columns in another order or of other types).");
            }
        }

        return (features!, label!, length);
    }

    private static ParquetLeaf Leaf(ParquetLayout layout, string name, string address)
    {
        var leaves = layout.Leaves.Where(l => l.Name == name).ToList();
        return leaves.Count switch
        {
            1 => leaves[0],
            0 => throw new InvalidDataException($"The shard {address} has no column '{name}' (it has {string.Join(", ", layout.Leaves.Select(l => l.Name).Distinct())})."),
            _ => throw new InvalidDataException($"The shard {address}: column '{name}' is nested ({leaves.Count} leaves), not a list of numbers."),
        };
    }
}
