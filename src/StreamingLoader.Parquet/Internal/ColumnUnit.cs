namespace StreamingLoader.Parquet.Internal;

/// <summary>One decoded unit (a row group or a record batch): its rows, and a block per projected column.</summary>
internal sealed class ColumnUnit
{
    public ColumnUnit(int columns)
    {
        Columns = new ColumnBlock[columns];
        for (var c = 0; c < columns; c++)
        {
            Columns[c] = new ColumnBlock();
        }
    }

    public ColumnBlock[] Columns { get; }

    public int Rows { get; set; }

    /// <summary>Something the unit's views depend on (an Arrow record batch), kept alive with it.</summary>
    public object? Owner { get; set; }

    /// <summary>Gets the owned bytes of every column.</summary>
    public long CapacityBytes => Columns.Sum(c => c.CapacityBytes);
}
