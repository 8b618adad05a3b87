using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.Tokenizers;
using StreamingLoader.Text;

namespace StreamingLoader.Benchmarks;

/// <summary>
/// GPT-2 tokenization on one thread, every fortune of Debian's <c>fortunes</c> (15,217 documents, 686,078 tokens); an
/// operation is one token, so Op/s is tokens/s and Allocated is bytes per token. StreamingLoader.Text's
/// <see cref="TextTokenizer.Encode(ReadOnlySpan{byte})"/> from UTF-8, against Microsoft.ML.Tokenizers'
/// <c>TiktokenTokenizer.EncodeToIds</c> from strings (its own pre-tokenizer and cache) as the baseline.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class TokenizerBenchmarks
{
    private const int Tokens = 686_078;
    private byte[][] _utf8 = [];
    private string[] _strings = [];
    private TextTokenizer _ours = null!;
    private TiktokenTokenizer _theirs = null!;

    [GlobalSetup]
    public void Setup()
    {
        const string folder = "/usr/share/games/fortunes";
        if (!Directory.Exists(folder))
        {
            throw new InvalidOperationException($"{folder} does not exist: apt-get install fortunes.");
        }

        _strings =
        [
            .. Directory.GetFiles(folder)
                .Where(f => Path.GetExtension(f).Length == 0 && new FileInfo(f).LinkTarget is null)
                .Order(StringComparer.Ordinal)
                .SelectMany(f => File.ReadAllText(f).Split("\n%\n"))
                .Select(f => f.Trim('\n'))
                .Where(f => f.Length > 0 && f != "%"),
        ];
        _utf8 = [.. _strings.Select(Encoding.UTF8.GetBytes)];
        _ours = TextTokenizer.Gpt2();
        _theirs = TiktokenTokenizer.CreateForModel("gpt2");
        if (MicrosoftMLTokenizers() != Tokens || StreamingLoaderText() != Tokens)
        {
            throw new InvalidOperationException($"The corpus is not the one measured ({Tokens} tokens).");
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Tokens)]
    public long MicrosoftMLTokenizers()
    {
        long tokens = 0;
        foreach (var text in _strings)
        {
            tokens += _theirs.EncodeToIds(text).Count;
        }

        return tokens;
    }

    [Benchmark(OperationsPerInvoke = Tokens)]
    public long StreamingLoaderText()
    {
        long tokens = 0;
        foreach (var text in _utf8)
        {
            using var ids = _ours.Encode(text);
            tokens += ids.Length;
        }

        return tokens;
    }
}
