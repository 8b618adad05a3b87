using System.Diagnostics;
using System.Globalization;
using System.Text;
using StreamingLoader;
using StreamingLoader.RabbitMQ;
using StreamingLoader.RabbitMQ.Tests;
using StreamingLoader.Batching;

// Messages/s through RabbitMQ on loopback with acknowledge-after-consume: a private broker, N messages of 32
// floats published with confirms, then consumed through loaders by one consumer and by two at once (two
// connections in this process), timed until all but the last partial batches are consumed. Usage: dotnet run -c Release -- [messages=100000] [batch=256]
var messages = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
var batchSize = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 256;
var broker = new RabbitMqBroker();
await broker.StartAsync();
try
{
    var random = new Random(1);
    var bodies = Enumerable.Range(0, messages).Select(i =>
        (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"x\":[{string.Join(',', Enumerable.Range(0, 32).Select(_ => (random.NextDouble() * 2) - 1))}],\"y\":{i}}}"))).ToArray();

    foreach (var consumers in new[] { 1, 2 })
    {
        var queue = $"bench-{consumers}";
        var publish = Stopwatch.StartNew();
        await using (var publisher = await RabbitMqPublisher.ConnectAsync(broker.Uri, queue))
        {
            await publisher.PublishManyAsync(Enumerable.Range(0, messages).Select(i => ((string?)i.ToString(CultureInfo.InvariantCulture), bodies[i])));
        }

        var published = messages / publish.Elapsed.TotalSeconds;
        var seen = new bool[messages];
        var total = 0;
        var clock = Stopwatch.StartNew();
        var finished = TimeSpan.Zero;

        // Timed up to the last partial batches, which wait for the idle timeout to end the stream.
        var timed = messages - (consumers * batchSize);
        var perConsumer = await Task.WhenAll(Enumerable.Range(0, consumers).Select(_ => Task.Run(async () =>
        {
            var options = new RabbitMqSourceOptions { Uri = broker.Uri, Queue = queue, PrefetchCount = (ushort)(batchSize * 8), IdleTimeout = TimeSpan.FromSeconds(3) };
            await using var source = await RabbitMqSource.ConnectAsync(options);
            await using var loader = Pipeline.From(source).Build(Collate.Messages(source, Collate.Json("x", 32, "y")), new LoaderOptions { BatchSize = batchSize, Workers = 2 });
            var mine = 0;
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    foreach (var label in batch.Labels.AsSpan<long>())
                    {
                        seen[label] = true;
                    }

                    mine += batch.Count;
                    var now = Interlocked.Add(ref total, batch.Count);
                    if (now >= timed && now - batch.Count < timed)
                    {
                        finished = clock.Elapsed;
                    }
                }
            }

            return mine;
        })));

        var rate = timed / finished.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"consumers\":{consumers},\"messages\":{messages},\"batch\":{batchSize},\"publish_per_s\":{published:F0},\"consume_per_s\":{rate:F0},\"per_consumer\":[{string.Join(',', perConsumer)}],\"all_once\":{(total == messages && seen.All(s => s) ? "true" : "false")}}}"));
    }
}
finally
{
    await broker.DisposeAsync();
}
