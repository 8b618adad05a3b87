using StreamingLoader.Parquet;

namespace StreamingLoader.Shards.Tests;

/// <summary>Every Parquet column type through <see cref="TensorColumns"/> into named tensors and rows, on files written by ParquetSharp.</summary>
public sealed class ColumnMappingTests : IDisposable
{
    private readonly string _folder = ColumnTypes.Write(shards: 3, rows: 200, rowGroup: 64);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static TensorColumns AllTypes() => ColumnTypes.Mapping();

    [Fact]
    public async Task Describe_EveryType_KindElementTypeAndLength()
    {
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        await using var dataset = await ParquetDataset.OpenAsync(source, AllTypes());

        Assert.Equal(
            [
                new ColumnDescription("id", ColumnKind.Number, ElementType.Int64, 1),
                new ColumnDescription("score", ColumnKind.Number, ElementType.Float64, 1),
                new ColumnDescription("flag", ColumnKind.Number, ElementType.Bool, 1),
                new ColumnDescription("small", ColumnKind.Number, ElementType.Int32, 1),
                new ColumnDescription("vector", ColumnKind.FixedSizeList, ElementType.Float32, ColumnTypes.VectorLength),
                new ColumnDescription("tokens", ColumnKind.VariableList, ElementType.Int32, null),
                new ColumnDescription("caption", ColumnKind.Text, null, null),
                new ColumnDescription("blob", ColumnKind.Binary, ElementType.UInt8, null),
            ],
            dataset.DescribeColumns());
    }

    [Fact]
    public async Task Loader_EveryType_NamedTensorsHoldEachRowsValuesPaddedAndMasked()
    {
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        await using var dataset = await ParquetDataset.OpenAsync(source, AllTypes());
        var sampler = dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 32, WindowUnits = 2 });
        await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 3 });

        var ids = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.Equal(["labels", "score", "flag", "small", "vector", "input_ids", "attention_mask", "lengths"], batch.Tensors.Select(t => t.Name));
                var tokens = batch["input_ids"];
                var width = tokens.Shape[1];
                Assert.Equal(0, width % 4);
                for (var i = 0; i < batch.Count; i++)
                {
                    var id = batch["labels"].Sample<long>(i)[0];
                    ids.Add(id);
                    Assert.Equal(batch.SampleIndices[i], id);
                    Assert.Equal(ColumnTypes.Score(id), batch["score"].Sample<float>(i)[0]);
                    Assert.Equal(ColumnTypes.Flag(id), batch["flag"].Sample<bool>(i)[0]);
                    Assert.Equal(ColumnTypes.Small(id), batch["small"].Sample<long>(i)[0]);
                    Assert.Equal(ColumnTypes.Vector(id), batch["vector"].Sample<float>(i).ToArray());
                    var expected = ColumnTypes.Tokens(id);
                    var row = tokens.Sample<long>(i);
                    Assert.Equal(expected.Select(t => (long)t), row[..expected.Length].ToArray());
                    Assert.All(row[expected.Length..].ToArray(), pad => Assert.Equal(-1, pad));
                    Assert.Equal(expected.Length, batch["lengths"].Sample<long>(i)[0]);
                    Assert.Equal(expected.Length, batch["attention_mask"].Sample<long>(i).ToArray().Sum());
                }

                Assert.Equal(((ids.Skip(ids.Count - batch.Count).Max(id => ColumnTypes.Tokens(id).Length) + 3) / 4) * 4, width);
            }
        }

        Assert.Equal(Enumerable.Range(0, 600).Select(i => (long)i), ids.Order());
    }

    [Fact]
    public async Task Rows_TextAndBinaryAndNumbers_AsWritten()
    {
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        await using var dataset = await ParquetDataset.OpenAsync(source, AllTypes());

        foreach (var index in new[] { 0, 2, 3, 63, 64, 67, 199, 200, 457, 599 })
        {
            var row = dataset.GetItem(index);
            Assert.Equal(index, row.Index);
            Assert.Equal(index, row.Values<long>("id")[0]);
            Assert.Equal(ColumnTypes.Caption(index), row.Text("caption"));
            Assert.Equal(ColumnTypes.Blob(index), row.Bytes("blob").ToArray());
            Assert.Equal(ColumnTypes.Tokens(index), row.Values<int>("tokens").ToArray());
            Assert.Equal(ColumnTypes.Score(index), row.Values<double>("score")[0]);
        }

        var error = Assert.Throws<ArgumentException>(() => dataset.GetItem(5).Values<float>("score"));
        Assert.Contains("Float64, not Single", error.Message);
        error = Assert.Throws<ArgumentException>(() => dataset.GetItem(5).Text("nothing"));
        Assert.Contains("'nothing' is not a column this dataset reads (it reads id, score, flag, small, vector, tokens, caption, blob)", error.Message);
    }

    [Fact]
    public async Task Loader_FixedShapeColumnsOnly_GathersWithoutRowsAndConvertsTypes()
    {
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        var columns = new TensorColumns().Tensor("vector", "features", ElementType.Float64).Tensor("small", "labels").Text("caption");
        await using var dataset = await ParquetDataset.OpenAsync(source, columns);
        var sampler = dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 50 });
        await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 3 });

        var seen = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    var id = batch.SampleIndices[i];
                    Assert.Equal(ColumnTypes.Vector(id).Select(v => (double)v), batch.Features.Sample<double>(i).ToArray());
                    Assert.Equal(ColumnTypes.Small(id), batch.Labels.Sample<int>(i)[0]);
                    seen++;
                }
            }
        }

        Assert.Equal(600, seen);
    }

    [Theory]
    [InlineData("caption", "column 'caption' (strings) is not numeric: map it with Text()")]
    [InlineData("blob", "column 'blob' (binary) is not numeric: map it with Binary()")]
    public async Task Open_TensorOfTextOrBinary_ErrorSaysHowToMapIt(string column, string message)
    {
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ParquetDataset.OpenAsync(source, new TensorColumns().Tensor(column)));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public async Task Open_SeveralBadMappings_OneErrorNamesEveryProblem()
    {
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        var columns = new TensorColumns()
            .Tensor("tokens", new TensorSpec("tokens", ElementType.Int64, [8]))
            .Tensor("vector", new TensorSpec("vector", ElementType.Float32, [3]))
            .Text("score")
            .Tensor("missing");

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ParquetDataset.OpenAsync(source, columns));

        Assert.Contains("column 'tokens' (a list of Int32) varies in length from row to row: map it to a variable-length field", error.Message);
        Assert.Contains("column 'vector' (a list of 4 Float32) holds 4 value(s) a row; the tensor vector Float32[3] takes 3", error.Message);
        Assert.Contains("column 'score' (Float64) cannot be read as text: map it with Tensor()", error.Message);
        Assert.Contains("types-00.parquet has no column 'missing' (it has id, score, flag, small, vector, tokens, caption, blob)", error.Message);
    }

    [Fact]
    public async Task Loader_FixedListWithAShortRow_ErrorNamesShardRowGroupRowAndColumn()
    {
        var folder = Directory.CreateTempSubdirectory("streamingloader-types-").FullName;
        try
        {
            // Every list has 3 values except row 70 (row 6 of row group 1), which has 2: the footer's counts no longer
            // divide, so the column is described as variable, and mapped to a fixed [3] tensor it fails on that row.
            ColumnTypes.Write(1, 128, 64, folder, tokens: id => id == 70 ? [1, 2] : [1, 2, 3]);
            await using var source = await ShardSource.OpenAsync(folder, new ShardSourceOptions { Suffix = ".parquet" });
            var open = await Assert.ThrowsAsync<InvalidDataException>(() => ParquetDataset.OpenAsync(source, new TensorColumns().Tensor("tokens", new TensorSpec("t", ElementType.Int32, [3]))));
            Assert.Contains("varies in length from row to row", open.Message);

            await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns().Tensor("id").Tensor("tokens", new TensorSpec("t", ElementType.Int32, [TensorSpec.Variable])));
            Assert.Equal([1, 2], dataset.GetItem(70).Values<int>("tokens").ToArray());
            Assert.Equal([1, 2, 3], dataset.GetItem(71).Values<int>("tokens").ToArray());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Loader_FixedListWhoseRowsDifferButCountsDivide_ErrorNamesTheRow()
    {
        var folder = Directory.CreateTempSubdirectory("streamingloader-types-").FullName;
        try
        {
            // Rows 70 and 71 hold 2 and 4 values: the row group's count still divides by its rows, so the footer
            // says "3 a row"; the decode finds row 6 of row group 1 is not.
            ColumnTypes.Write(1, 128, 64, folder, tokens: id => id switch { 70 => [1, 2], 71 => [1, 2, 3, 4], _ => [1, 2, 3] });
            await using var source = await ShardSource.OpenAsync(folder, new ShardSourceOptions { Suffix = ".parquet" });
            await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns().Tensor("tokens"));
            Assert.Contains(new ColumnDescription("tokens", ColumnKind.FixedSizeList, ElementType.Int32, 3), dataset.DescribeColumns());

            var error = Assert.Throws<InvalidDataException>(() => dataset.GetItem(100));
            Assert.Contains("types-00.parquet, row group 1: Row 6: column 'tokens' holds 2 values, not 3", error.Message);
            Assert.Equal([1, 2, 3], dataset.GetItem(10).Values<int>("tokens").ToArray());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Loader_NullNumberUnderSkip_DeadLettersNameShardRowAndColumn()
    {
        var folder = Directory.CreateTempSubdirectory("streamingloader-types-").FullName;
        try
        {
            using (var writer = new ParquetSharp.ParquetFileWriter(Path.Combine(folder, "nulls.parquet"), [new ParquetSharp.Column<long>("id"), new ParquetSharp.Column<long?>("maybe")]))
            {
                for (var g = 0; g < 2; g++)
                {
                    using var group = writer.AppendRowGroup();
                    using (var id = group.NextColumn().LogicalWriter<long>())
                    {
                        id.WriteBatch([.. Enumerable.Range(g * 10, 10).Select(i => (long)i)]);
                    }

                    using var maybe = group.NextColumn().LogicalWriter<long?>();
                    maybe.WriteBatch([.. Enumerable.Range(g * 10, 10).Select(i => i == 15 ? null : (long?)i)]);
                }

                writer.Close();
            }

            await using var source = await ShardSource.OpenAsync(folder, new ShardSourceOptions { Suffix = ".parquet" });
            await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("maybe", "id"));
            var sampler = dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 4 });
            await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, ErrorPolicy = ErrorPolicy.Skip });

            var read = new List<long>();
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    read.AddRange(batch.Labels.AsSpan<long>().ToArray());
                }
            }

            Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), read.Order());
            Assert.Equal(Enumerable.Range(10, 10).Select(i => (long)i), loader.DeadLetters.Select(d => d.SampleIndex).Order());
            Assert.All(loader.DeadLetters, d => Assert.Contains("nulls.parquet, row group 1: Row 5: column 'maybe' is null", d.Error.Message));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
