using StreamingLoader.Parquet;

namespace StreamingLoader.Shards.Tests;

/// <summary>Arrow IPC files and streams written by Apache.Arrow, read by <see cref="ArrowDataset"/> into named tensors.</summary>
public sealed class ArrowDatasetTests : IDisposable
{
    private const int Rows = 200;
    private readonly Dictionary<string, List<long>> _ends = [];
    private readonly string _files;
    private readonly string _streams = ArrowShards.Write(shards: 3, rows: Rows, batchRows: 64, stream: true);

    public ArrowDatasetTests()
    {
        _files = ArrowShards.Write(shards: 3, rows: Rows, batchRows: 64, batchEnds: _ends);
    }

    public void Dispose()
    {
        Directory.Delete(_files, recursive: true);
        Directory.Delete(_streams, recursive: true);
    }

    internal static TensorColumns AllTypes() => ColumnTypes.Mapping().Tensor("tiny");

    [Fact]
    public async Task Describe_EveryType_KindElementTypeAndLength()
    {
        await using var source = await ShardSource.OpenAsync(_files, new ShardSourceOptions { Suffix = ".arrow" });
        await using var dataset = await ArrowDataset.OpenAsync(source, AllTypes());

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
                new ColumnDescription("tiny", ColumnKind.Number, ElementType.UInt8, 1),
                new ColumnDescription("when", ColumnKind.Unsupported, null, null),
            ],
            dataset.DescribeColumns());
        Assert.Equal(3 * Rows, dataset.Count);
        Assert.Equal([64, 64, 64, 8, 64, 64, 64, 8, 64, 64, 64, 8], dataset.RowsPerUnit);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Loader_EveryTypeFromFilesOrStreams_NamedTensorsHoldEachRowsValues(bool streams)
    {
        await using var source = await ShardSource.OpenAsync(streams ? _streams : _files, new ShardSourceOptions { Suffix = streams ? ".arrows" : ".arrow" });
        await using var dataset = await ArrowDataset.OpenAsync(source, AllTypes());
        var sampler = dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 32, WindowUnits = 2 });
        await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 3 });

        Assert.Equal(Enumerable.Range(0, 3 * Rows).Select(i => (long)i), (await ReadAllTypesAsync(loader)).Order());
        Assert.InRange(dataset.RecordBatchesRead, 12, 16);
    }

    [Fact]
    public async Task Rows_FileAndStream_TextBinaryAndNumbersAsWritten()
    {
        foreach (var (folder, suffix) in new[] { (_files, ".arrow"), (_streams, ".arrows") })
        {
            await using var source = await ShardSource.OpenAsync(folder, new ShardSourceOptions { Suffix = suffix });
            await using var dataset = await ArrowDataset.OpenAsync(source, AllTypes());
            foreach (var index in new[] { 0, 2, 63, 64, 67, 199, 200, 457, 599 })
            {
                var row = dataset.GetItem(index);
                Assert.Equal(index, row.Values<long>("id")[0]);
                Assert.Equal(ColumnTypes.Caption(index), row.Text("caption"));
                Assert.Equal(ColumnTypes.Blob(index), row.Bytes("blob").ToArray());
                Assert.Equal(ColumnTypes.Tokens(index), row.Values<int>("tokens").ToArray());
                Assert.Equal(ColumnTypes.Vector(index), row.Values<float>("vector").ToArray());
                Assert.Equal(ColumnTypes.Score(index), row.Values<double>("score")[0]);
                Assert.Equal((byte)index, row.Values<byte>("tiny")[0]);
            }
        }
    }

    [Fact]
    public async Task Ranks_TwoRanksMapStyleAndStream_UnionIsEveryRowOnce()
    {
        var mapped = new List<long>();
        var streamed = new List<long>();
        for (var rank = 0; rank < 2; rank++)
        {
            await using var source = await ShardSource.OpenAsync(_files, new ShardSourceOptions { Suffix = ".arrow" });
            await using var dataset = await ArrowDataset.OpenAsync(source, new TensorColumns().Tensor("id", "labels").Tensor("vector"));
            var options = new ShardingOptions { World = new World(rank, 2), BatchSize = 16 };
            await using (var loader = Pipeline.From(dataset, dataset.CreateSampler(options)).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 9 }))
            {
                var share = await LabelsAsync(loader);
                Assert.Equal(3 * Rows / 2, share.Count);
                mapped.AddRange(share);
            }

            await using (var loader = Pipeline.From(dataset.Stream(9, options)).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, BatchSize = 16 }))
            {
                streamed.AddRange(await LabelsAsync(loader));
            }
        }

        Assert.Equal(Enumerable.Range(0, 3 * Rows).Select(i => (long)i), mapped.Order());
        Assert.Equal(Enumerable.Range(0, 3 * Rows).Select(i => (long)i), streamed.Order());
    }

    [Fact]
    public async Task Open_TruncatedFile_ErrorNamesTheShard()
    {
        var path = Path.Combine(_files, "types-01.arrow");
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length * 2 / 3)]);
        await using var source = await ShardSource.OpenAsync(_files, new ShardSourceOptions { Suffix = ".arrow" });

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ArrowDataset.OpenAsync(source));
        Assert.Contains("types-01.arrow is not a readable Arrow IPC file or stream: It does not end with the Arrow file footer", error.Message);
    }

    [Fact]
    public async Task Loader_CorruptRecordBatch_FailsNamingShardBatchRowAndColumn()
    {
        CorruptBatch("types-01.arrow", 1);
        await using var source = await ShardSource.OpenAsync(_files, new ShardSourceOptions { Suffix = ".arrow" });
        await using var dataset = await ArrowDataset.OpenAsync(source, new TensorColumns().Tensor("id", "labels").Text("caption"));
        await using var loader = Pipeline.From(dataset, dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 32 }))
            .Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 1 });

        var error = await Assert.ThrowsAsync<DataLoaderException>(() => LabelsAsync(loader));
        Assert.Contains("types-01.arrow, record batch 1: Row 0: column 'caption'", error.ToString());
        Assert.InRange(error.SampleIndex, Rows + 64, Rows + 127);
    }

    [Fact]
    public async Task Loader_CorruptRecordBatchUnderSkip_DeadLettersAndTheStatisticsBalance()
    {
        CorruptBatch("types-01.arrow", 1);
        await using var source = await ShardSource.OpenAsync(_files, new ShardSourceOptions { Suffix = ".arrow" });
        await using var dataset = await ArrowDataset.OpenAsync(source, new TensorColumns().Tensor("id", "labels").Text("caption"));
        await using var loader = Pipeline.From(dataset, dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 32 }))
            .Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 1, ErrorPolicy = ErrorPolicy.Skip });

        var read = await LabelsAsync(loader);

        var broken = Enumerable.Range(Rows + 64, 64).Select(i => (long)i).ToHashSet();
        Assert.Equal(Enumerable.Range(0, 3 * Rows).Select(i => (long)i).Where(i => !broken.Contains(i)), read.Order());
        Assert.Equal(broken.Order(), loader.DeadLetters.Select(d => d.SampleIndex).Order());
        Assert.All(loader.DeadLetters, d => Assert.Contains("types-01.arrow, record batch 1", d.Reason));
        var statistics = loader.Statistics[0];
        Assert.Equal(new EpochStatistics(0, 3 * Rows, (3 * Rows) - 64, 64, 0, 0, 0, 0), statistics);
    }

    [Fact]
    public async Task Open_UnusedColumnsCorruptOrUnsupported_OnlyTheProjectedColumnsAreRead()
    {
        CorruptBatch("types-01.arrow", 1);
        await using var source = await ShardSource.OpenAsync(_files, new ShardSourceOptions { Suffix = ".arrow" });

        // "when" (a timestamp) maps to no tensor and "caption" is corrupt in record batch 1: neither is projected here.
        await using (var dataset = await ArrowDataset.OpenAsync(source, new TensorColumns().Tensor("id", "labels").Tensor("vector")))
        {
            await using var loader = Pipeline.From(dataset, dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 32 }))
                .Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 1 });
            Assert.Equal(Enumerable.Range(0, 3 * Rows).Select(i => (long)i), (await LabelsAsync(loader)).Order());
        }

        var open = await Assert.ThrowsAsync<InvalidDataException>(() => ArrowDataset.OpenAsync(source, new TensorColumns().Tensor("when")));
        Assert.Contains("column 'when' (of an unsupported type) has a type that maps to no tensor", open.Message);
        await using var withCaption = await ArrowDataset.OpenAsync(source, new TensorColumns().Tensor("id").Text("caption"));
        Assert.Equal(ColumnTypes.Caption(Rows), withCaption.GetItem(Rows).Text("caption"));
        Assert.Throws<InvalidDataException>(() => withCaption.GetItem(Rows + 64));
    }

    [Fact]
    public async Task Decode_LocalFile_ColumnsPointIntoTheMappedFileWithoutCopies()
    {
        await using var source = await ShardSource.OpenAsync(_files, new ShardSourceOptions { Suffix = ".arrow" });
        var dataset = await ArrowDataset.OpenAsync(source, new TensorColumns().Tensor("id").Tensor("vector").Tensor("tokens").Text("caption").Tensor("flag"));
        var path = Path.Combine(_files, "types-01.arrow");

        var unit = dataset.AcquireUnit(5); // record batch 1 of types-01.arrow
        try
        {
            // The file is mapped while the unit is held (Linux lists mappings by path), and no column but the
            // bit-packed bool owns a buffer: their values and offsets are views of the mapping.
            Assert.Contains(File.ReadLines("/proc/self/maps"), line => line.EndsWith(path, StringComparison.Ordinal));
            Assert.Equal([0L, 0, 0, 0], unit.Columns[..4].Select(c => c.CapacityBytes));
            Assert.Equal(64, unit.Rows);
            Assert.Equal(Rows + 64, dataset.GetItem(Rows + 64).Values<long>("id")[0]);
        }
        finally
        {
            dataset.ReleaseUnit(5);
        }

        // Disposing the dataset unmaps what its decoded units held.
        await dataset.DisposeAsync();
        Assert.DoesNotContain(File.ReadLines("/proc/self/maps"), line => line.EndsWith(path, StringComparison.Ordinal));
    }

    /// <summary>
    /// Overwrites the last half of record batch <paramref name="batch"/> (its body's tail: the caption offsets and
    /// bytes, "blob", "tiny" and "when"), leaving its header and the footer readable.
    /// </summary>
    private void CorruptBatch(string name, int batch)
    {
        var ends = _ends[name];
        var (start, end) = (ends[batch - 1], ends[batch]);
        using var file = new FileStream(Path.Combine(_files, name), FileMode.Open, FileAccess.Write);
        file.Position = start + ((end - start) * 2 / 5);
        file.Write(Enumerable.Repeat((byte)0xFF, (int)(end - file.Position)).ToArray());
    }

    private static async Task<List<long>> LabelsAsync(DataLoader loader)
    {
        var labels = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
            }
        }

        return labels;
    }

    internal static async Task<List<long>> ReadAllTypesAsync(DataLoader loader, bool indexIsRow = true)
    {
        var ids = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.Equal(["labels", "score", "flag", "small", "vector", "input_ids", "tiny", "attention_mask", "lengths"], batch.Tensors.Select(t => t.Name));
                var tokens = batch["input_ids"];
                for (var i = 0; i < batch.Count; i++)
                {
                    var id = batch["labels"].Sample<long>(i)[0];
                    ids.Add(id);
                    if (indexIsRow)
                    {
                        Assert.Equal(batch.SampleIndices[i], id);
                    }

                    Assert.Equal(ColumnTypes.Score(id), batch["score"].Sample<float>(i)[0]);
                    Assert.Equal(ColumnTypes.Flag(id), batch["flag"].Sample<bool>(i)[0]);
                    Assert.Equal(ColumnTypes.Small(id), batch["small"].Sample<long>(i)[0]);
                    Assert.Equal(ColumnTypes.Vector(id), batch["vector"].Sample<float>(i).ToArray());
                    Assert.Equal((byte)id, batch["tiny"].Sample<byte>(i)[0]);
                    var expected = ColumnTypes.Tokens(id);
                    var row = tokens.Sample<long>(i);
                    Assert.Equal(expected.Select(t => (long)t), row[..expected.Length].ToArray());
                    Assert.All(row[expected.Length..].ToArray(), pad => Assert.Equal(-1, pad));
                    Assert.Equal(expected.Length, batch["lengths"].Sample<long>(i)[0]);
                    Assert.Equal(0, tokens.Shape[1] % 4);
                }
            }
        }

        return ids;
    }
}
