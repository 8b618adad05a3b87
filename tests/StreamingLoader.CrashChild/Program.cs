using System.Globalization;
using StreamingLoader;
using StreamingLoader.Datasets;

// A training process for the crash-resume test: reads one shuffled epoch, appends each batch's labels to a log,
// and every few batches saves a checkpoint (the loader state plus how many log lines it covers), atomically.
// Started again with the same directory, it resumes from the checkpoint. The test kills it with SIGKILL mid-epoch.
var directory = args[0];
var samples = int.Parse(args[1], CultureInfo.InvariantCulture);
var ordered = args.Length <= 2 || args[2] != "unordered";
var log = Path.Combine(directory, "delivered.log");
var checkpoint = Path.Combine(directory, "checkpoint.txt");

// The checkpoint is one file, replaced atomically: the log lines it covers, then the loader state.
string[]? saved = File.Exists(checkpoint) ? File.ReadAllLines(checkpoint) : null;
LoaderState? resume = saved is null ? null : LoaderState.FromJson(saved[1]);
var options = new LoaderOptions { BatchSize = 16, Shuffle = true, Seed = 21, Workers = 2, Ordered = ordered };
var dataset = Dataset.FromFunc(samples, i => new Sample<float, long>(new float[] { i }, i));

await using var loader = Pipeline.From(dataset).Build(options, resume);
await using var output = new FileStream(log, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
using var writer = new StreamWriter(output);
var lines = saved is null ? 0 : long.Parse(saved[0], CultureInfo.InvariantCulture);
// Lines written after the checkpoint were not covered by it: the resumed epoch delivers those samples again.
output.SetLength(resume is null ? 0 : LineOffset(log, lines));
output.Seek(0, SeekOrigin.End);

var batches = 0;
await foreach (var batch in loader.ReadEpochAsync())
{
    using (batch)
    {
        foreach (var label in batch.Labels.AsSpan<long>())
        {
            writer.WriteLine(label.ToString(CultureInfo.InvariantCulture));
            lines++;
        }
    }

    writer.Flush();
    output.Flush(flushToDisk: true);
    Thread.Sleep(5); // the training step: slow enough that the test kills the process mid-epoch
    if (++batches % 3 == 0)
    {
        File.WriteAllLines(checkpoint + ".tmp", [lines.ToString(CultureInfo.InvariantCulture), loader.State.ToJson()]);
        File.Move(checkpoint + ".tmp", checkpoint, overwrite: true);
    }
}

Console.WriteLine("epoch complete");
return 0;

static long LineOffset(string path, long lineCount)
{
    long offset = 0, seen = 0;
    using var stream = File.OpenRead(path);
    int b;
    while (seen < lineCount && (b = stream.ReadByte()) != -1)
    {
        offset++;
        if (b == '\n')
        {
            seen++;
        }
    }

    return offset;
}
