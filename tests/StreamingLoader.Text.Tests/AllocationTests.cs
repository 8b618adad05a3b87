using System.Text;
using Xunit.Abstractions;
using StreamingLoader.Sources;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// At steady state (pieces cached, buffers pooled) tokenizing a document allocates nothing on the managed heap,
/// whatever its length: measured on this thread with <see cref="GC.GetAllocatedBytesForCurrentThread"/>.
/// </summary>
public class AllocationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(10)]
    [InlineData(1_000)]
    [InlineData(50_000)]
    public void Encode_SteadyState_AllocatesNothingWhateverTheLength(int words)
    {
        var tokenizer = TextTokenizer.Gpt2();
        var document = Document(words);
        var bytes = Encoding.UTF8.GetBytes(document);
        var tokenize = Tokenize.JsonField(tokenizer, "text", "label");
        var line = new TextLine("doc.jsonl", 1, Encoding.UTF8.GetBytes($"{{\"label\":1,\"text\":{System.Text.Json.JsonSerializer.Serialize(document)}}}"));
        var plain = Tokenize.Line(tokenizer);
        // Warm-up as the measurement runs, three documents held at once: the pool then holds as many buffers of each
        // size as are in use together, as it does in a loader after its first batches.
        for (var i = 0; i < 3; i++)
        {
            using var a = tokenizer.Encode(bytes);
            using var b = tokenize(line, default);
            using var c = plain(line, default);
        }

        const int documents = 50;
        var before = GC.GetAllocatedBytesForCurrentThread();
        long tokens = 0;
        for (var i = 0; i < documents; i++)
        {
            using var a = tokenizer.Encode(bytes);
            using var b = tokenize(line, default);
            using var c = plain(line, default);
            tokens += a.Length + b.Length + c.Length;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{words} words: {tokens / (3 * documents)} tokens per document, {allocated / (3.0 * documents):F1} bytes allocated per document");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Dispose_TwiceThroughACopy_BufferReturnedOnceAndStaleReadsFail()
    {
        var tokenizer = TextTokenizer.Gpt2();
        var first = tokenizer.Encode("Hello world");
        var copy = first;
        first.Dispose();
        copy.Dispose();

        // Had the buffer gone back twice, these two would share it.
        using var second = tokenizer.Encode("one two three");
        using var third = tokenizer.Encode("four five six");
        Assert.Equal([505, 734, 1115], second.Ids.ToArray());
        Assert.Equal([14337, 1936, 2237], third.Ids.ToArray());
        Assert.Throws<ObjectDisposedException>(() => first.Ids.Length);
        Assert.Equal(2, first.Length);
    }

    private static string Document(int words)
    {
        string[] vocabulary = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog's", "back", "1984", "naïve", "café", "🙂", "—", "\n\n", "  "];
        var random = new Random(words);
        var text = new StringBuilder();
        for (var i = 0; i < words; i++)
        {
            text.Append(' ').Append(vocabulary[random.Next(vocabulary.Length)]);
        }

        return text.ToString();
    }
}
