using System.Globalization;
using System.Text;
using RabbitMQ.Client;
using StreamingLoader.Batching;

namespace StreamingLoader.RabbitMQ.Tests;

[Collection(BrokerTests.Name)]
public sealed class RabbitMqSourceTests(RabbitMqBroker broker) : IDisposable
{
    private const int Messages = 10_000;
    private readonly string _queue = "q-" + Guid.NewGuid().ToString("N")[..8];
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("streamingloader-rabbitmq-tests-");

    public void Dispose() => _directory.Delete(recursive: true);

    private static ReadOnlyMemory<byte> Body(int id) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"x\":[{id},{id + 1},{id + 2},{id + 3}],\"y\":{id}}}"));

    private async Task PublishAsync(int from, int count, Func<int, ReadOnlyMemory<byte>>? body = null)
    {
        await using var publisher = await RabbitMqPublisher.ConnectAsync(broker.Uri, _queue);
        await publisher.PublishManyAsync(Enumerable.Range(from, count).Select(id => ((string?)id.ToString(CultureInfo.InvariantCulture), (body ?? Body)(id))));
    }

    private RabbitMqSourceOptions Options(int idleMilliseconds = 1500, ushort prefetch = 1024) =>
        new() { Uri = broker.Uri, Queue = _queue, PrefetchCount = prefetch, IdleTimeout = TimeSpan.FromMilliseconds(idleMilliseconds), ReconnectDelay = TimeSpan.FromMilliseconds(200) };

    private ConsumerProcess Consumer(string name, int workMilliseconds = 0) =>
        new(broker.Uri, _queue, Path.Combine(_directory.FullName, name + ".txt"), batchSize: 64, idleMilliseconds: 3000, workMilliseconds);

    private static void AssertEveryMessageOnce(IEnumerable<long> labels)
    {
        var sorted = labels.Order().ToList();
        Assert.Equal(sorted.Distinct().Count(), sorted.Count);
        Assert.Equal(Enumerable.Range(0, Messages).Select(i => (long)i), sorted);
    }

    /// <summary>Consumes through a loader until the source goes idle or <paramref name="stop"/> says so.</summary>
    private static async Task<(List<long> Labels, int DeadLetters)> ConsumeAsync(RabbitMqSource source, Func<List<long>, Task<bool>>? stop = null, ErrorPolicy policy = ErrorPolicy.Fail, int batchSize = 100)
    {
        var labels = new List<long>();
        await using var loader = Pipeline.From(source).Build(Collate.Messages(source, Collate.Json("x", 4, "y")), new LoaderOptions { BatchSize = batchSize, Workers = 2, ErrorPolicy = policy });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
            }

            if (stop is not null && await stop(labels))
            {
                break;
            }
        }

        return (labels, loader.DeadLetters.Count);
    }

    [Fact]
    public async Task ConsumerProcesses_TwoOnOneQueue_ShareItAndTheUnionIsEveryMessageOnce()
    {
        using var first = Consumer("first");
        using var second = Consumer("second");
        await Task.WhenAll(first.Ready, second.Ready);

        await PublishAsync(0, Messages);
        await Task.WhenAll(first.WaitForExitAsync(), second.WaitForExitAsync());

        var a = first.Labels();
        var b = second.Labels();
        Assert.NotEmpty(a);
        Assert.NotEmpty(b);
        AssertEveryMessageOnce(a.Concat(b));
        Assert.Equal(0u, await broker.ReadyCountAsync(_queue));
    }

    [Fact]
    public async Task ConsumerProcess_KilledMidStream_ItsUnacknowledgedMessagesReachTheOther()
    {
        using var slow = Consumer("killed", workMilliseconds: 20);
        using var other = Consumer("survivor", workMilliseconds: 2);
        await Task.WhenAll(slow.Ready, other.Ready);
        await PublishAsync(0, Messages);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (slow.Labels().Count < 640)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"The consumer to kill did not get going:\n{slow.Output}");
            await Task.Delay(20);
        }

        slow.KillHard();
        var killedHad = slow.Labels();
        await other.WaitForExitAsync();

        // Every message is in one of the two; the only ones in both are those the killed process had written but
        // not yet acknowledged (at most its prefetch window), which the broker rightly gave to the survivor.
        var survivor = other.Labels();
        var union = killedHad.Concat(survivor).Distinct().ToList();
        Assert.Equal(Messages, union.Count);
        Assert.Equal(survivor.Count, survivor.Distinct().Count());
        Assert.InRange(killedHad.Intersect(survivor).Count(), 0, 64 * 8);

        // The kill did cause a redelivery: the survivor got, marked redelivered, the messages the killed process held
        // unacknowledged (its prefetch window of 64 × 8 at most), among them every one it had written.
        var redelivered = other.RedeliveredLabels();
        Assert.InRange(redelivered.Count, 1, 64 * 8);
        Assert.Subset(redelivered.ToHashSet(), killedHad.Intersect(survivor).ToHashSet());
    }

    [Fact]
    public async Task Source_BrokerRestartedWhileABatchIsHeld_ReconnectsRedeliversAndLosesNothing()
    {
        await PublishAsync(0, Messages);
        await using var source = await RabbitMqSource.ConnectAsync(Options(idleMilliseconds: 3000));
        var labels = new List<long>();
        long droppedAtRestart = -1;
        await using (var loader = Pipeline.From(source).Build(Collate.Messages(source, Collate.Json("x", 4, "y")), new LoaderOptions { BatchSize = 100, Workers = 2 }))
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
                    if (droppedAtRestart < 0 && labels.Count >= 3000)
                    {
                        // The broker goes down and comes back while this batch is held, unacknowledged: its messages
                        // (and those read ahead) are redelivered on the new connection, and the held batch is
                        // acknowledged there once it is disposed, its redelivered copies dropped.
                        droppedAtRestart = source.DuplicatesDropped;
                        await broker.RestartAsync();
                    }
                }
            }
        }

        Assert.True(source.Connections >= 2, $"connections: {source.Connections}");
        Console.WriteLine($"broker restart with a batch held: {labels.Count} consumed, {source.DuplicatesDropped} redelivered copies dropped");
        Assert.InRange(source.DuplicatesDropped - droppedAtRestart, 100, Messages);
        AssertEveryMessageOnce(labels);
        Assert.Equal(0u, await broker.ReadyCountAsync(_queue));
    }

    [Fact]
    public async Task Source_ConsumerHoldsItsBatches_BrokerStopsAtThePrefetchWindow()
    {
        await PublishAsync(0, 5000);
        await using var source = await RabbitMqSource.ConnectAsync(Options(prefetch: 512));
        await using var loader = Pipeline.From(source).Build(Collate.Messages(source, Collate.Json("x", 4, "y")), new LoaderOptions { BatchSize = 64, Workers = 2 });
        await using var batches = loader.ReadEpochAsync().GetAsyncEnumerator();
        Assert.True(await batches.MoveNextAsync());
        using var held = batches.Current;

        // Nothing is acknowledged while the consumer holds its batch: the broker has handed out exactly the window,
        // and the source's backlog reading says what is left.
        await Task.Delay(1000);
        Assert.Equal(5000u - 512u, await broker.ReadyCountAsync(_queue));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (source.MessagesReady != 5000 - 512 && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(100);
        }

        Assert.Equal(5000 - 512, source.MessagesReady);
    }

    [Fact]
    public async Task Source_MalformedMessagesUnderSkip_GoToTheDeadLetterQueueWithTheirReason()
    {
        await PublishAsync(0, 300, id => id % 100 == 7 ? Encoding.UTF8.GetBytes($"{{\"x\":[1,2],\"y\":{id}}}") : Body(id));
        await using var source = await RabbitMqSource.ConnectAsync(Options());
        var (labels, deadLetters) = await ConsumeAsync(source, policy: ErrorPolicy.Skip, batchSize: 50);

        Assert.Equal(3, deadLetters);
        Assert.Equal(297, labels.Distinct().Count());
        Assert.Equal(3, source.DeadLettered);
        await using var connection = await new ConnectionFactory { Uri = broker.Uri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var reasons = new List<(string? Id, string Reason)>();
        while (await channel.BasicGetAsync(_queue + ".dead-letter", autoAck: true) is { } dead)
        {
            reasons.Add((dead.BasicProperties.MessageId, Encoding.UTF8.GetString((byte[])dead.BasicProperties.Headers![RabbitMqSource.ReasonHeader]!)));
        }

        Assert.Equal(["107", "207", "7"], reasons.Select(r => r.Id).Order());
        Assert.All(reasons, r => Assert.Contains("\"x\" has 2 numbers; expected 4", r.Reason, StringComparison.Ordinal));
        Assert.Equal(0u, await broker.ReadyCountAsync(_queue));
    }

    [Fact]
    public async Task Source_LoaderStoppedWithBatchesUndelivered_TheirMessagesGoBackToTheQueue()
    {
        await PublishAsync(0, 2000);
        List<long> first, second;
        await using (var source = await RabbitMqSource.ConnectAsync(Options()))
        {
            (first, _) = await ConsumeAsync(source, seen => Task.FromResult(seen.Count >= 500));
        }

        await using (var source = await RabbitMqSource.ConnectAsync(Options()))
        {
            (second, _) = await ConsumeAsync(source);
        }

        Assert.Equal(500, first.Count);
        Assert.Equal(Enumerable.Range(0, 2000).Select(i => (long)i), first.Concat(second).Order());
    }
}
