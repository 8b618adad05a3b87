using System.Globalization;
using StreamingLoader;
using StreamingLoader.RabbitMQ;
using StreamingLoader.Batching;

// A trainer process for the RabbitMQ tests: consumes a queue through a loader and appends each batch's labels to
// a file (flushed before the batch is disposed, so every acknowledged message is on disk), a label the broker
// redelivered (delivered before, to this consumer or another) followed by " redelivered", until the queue stays
// idle. Arguments: uri queue output batch-size idle-ms [milliseconds to spend on each batch].
var uri = new Uri(args[0]);
var queue = args[1];
var output = args[2];
var batchSize = int.Parse(args[3], CultureInfo.InvariantCulture);
var idle = TimeSpan.FromMilliseconds(int.Parse(args[4], CultureInfo.InvariantCulture));
var work = args.Length > 5 ? TimeSpan.FromMilliseconds(int.Parse(args[5], CultureInfo.InvariantCulture)) : TimeSpan.Zero;

var options = new RabbitMqSourceOptions { Uri = uri, Queue = queue, PrefetchCount = (ushort)(batchSize * 8), IdleTimeout = idle };
await using var source = await RabbitMqSource.ConnectAsync(options);
await using var file = new StreamWriter(output, append: true);
Console.WriteLine("ready");
var redelivered = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
var loader = Pipeline.From(source)
    .Transform((message, _) =>
    {
        if (message.Redelivered && message.MessageId is { } id)
        {
            redelivered[id] = 0;
        }

        return message;
    })
    .Build(Collate.Messages(source, Collate.Json("x", 4, "y")), new LoaderOptions { BatchSize = batchSize, Workers = 2 });
await using (loader)
{
    await foreach (var batch in loader.ReadEpochAsync())
    {
        using (batch)
        {
            foreach (var label in batch.Labels.AsSpan<long>().ToArray())
            {
                var text = label.ToString(CultureInfo.InvariantCulture);
                await file.WriteLineAsync(redelivered.ContainsKey(text) ? text + " redelivered" : text);
            }

            await file.FlushAsync();
            if (work > TimeSpan.Zero)
            {
                await Task.Delay(work);
            }
        }
    }
}

Console.WriteLine($"done connections={source.Connections} duplicates={source.DuplicatesDropped}");
