using System.Text;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// Documents that exercise every branch of GPT-2's pre-tokenization and byte-pair encoding, by class: whitespace runs,
/// contractions, numbers, scripts and combining marks, emoji, long pieces, control characters, seeded random mixtures;
/// every Unicode scalar value in letter, digit, space and punctuation contexts; and invalid UTF-8.
/// </summary>
internal static class HardCases
{
    private static readonly string[] s_spaces = [" ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", "\u00A0", "\u3000", "\u2028", "\u0085", "\v", "\f", "\u2003", "\u1680", "\u202F"];
    private static readonly string[] s_atoms =
    [
        "a", "Z", "word", "Hello", "l'été", "ß", "İ", "ǅ", "ʰ", "1", "42", "007", "٣", "²", "½", "Ⅻ", "𝟘", "𝐀", "𠀀", "!", "?!", "...", "'", "\"", "-",
        "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "’s", "''", "<|endoftext|>", "👍", "👍🏽", "👨‍👩‍👧‍👦", "🇺🇸", "1️⃣", "❤️", "e\u0301", "\u0301",
        "क्षि", "مرحبا", "שָׁלוֹם", "ภาษาไทย", "中文字", "한국어", "カタカナ", "ひらがな", "Ελληνικά", "Кириллица", "\u200B", "\u200D", "\uFEFF", "\u180E",
        "\u0000", "\u001C", "\u001F", "\u007F", "\uFFFD", "$", "€", "£", "%", "@", "#", "_", "`", "~", "\\", "/", "http://example.com/a?b=c",
    ];

    /// <summary>The hand-picked and generated cases, by class.</summary>
    public static IReadOnlyList<(string Class, byte[] Text)> Documents()
    {
        var cases = new List<(string, string)>();
        void Add(string kind, string text) => cases.Add((kind, text));

        // Whitespace runs before a letter, a digit, punctuation, another run and the end of the text.
        foreach (var a in s_spaces)
        {
            foreach (var b in s_spaces)
            {
                foreach (var after in new[] { "x", "7", "!", "", " y", "\n" })
                {
                    Add("whitespace runs", $"a{a}{b}{after}");
                    Add("whitespace runs", $"{a}{b}{a}{after}");
                }
            }
        }

        foreach (var n in new[] { 1, 2, 3, 7, 16, 100, 1000, 5000 })
        {
            Add("long whitespace", new string(' ', n) + "x");
            Add("long whitespace", "x" + new string(' ', n));
            Add("long whitespace", "x" + new string('\n', n) + "y");
            Add("long whitespace", string.Concat(Enumerable.Repeat(" \t", n)) + "z");
        }

        // Contractions: the seven, their upper case (not contractions), a typographic apostrophe, doubled quotes.
        foreach (var c in new[] { "s", "t", "re", "ve", "m", "ll", "d", "S", "T", "RE", "Ve", "LL", "D", "x", "" })
        {
            Add("contractions", $"it'{c}");
            Add("contractions", $"'{c}");
            Add("contractions", $" '{c} ");
            Add("contractions", $"''{c}");
            Add("contractions", $"it’{c}");
            Add("contractions", $"?!'{c}a");
            Add("contractions", $"1'{c}2");
        }

        // Numbers: long runs, other scripts' digits, number categories other than Nd.
        foreach (var n in new[] { "0", "12", "123", "1234", "12345678901234567890", "3.14159", "1,000,000", "٣٤٥", "१२३", "²³", "½¾", "ⅫⅣ", "𝟘𝟙𝟚", "①②" })
        {
            Add("numbers", n);
            Add("numbers", $"x {n} y");
            Add("numbers", $"abc{n}def");
        }

        // Scripts, combining marks, emoji sequences.
        foreach (var atom in s_atoms)
        {
            Add("atoms", atom);
            Add("atoms", $" {atom}");
            Add("atoms", $"x{atom}x");
            Add("atoms", $"{atom}{atom} {atom}");
            Add("atoms", $"1{atom}1");
        }

        Add("long pieces", new string('a', 3000));
        Add("long pieces", new string('!', 1000));
        Add("long pieces", string.Concat(Enumerable.Repeat("9", 2000)));
        Add("long pieces", Convert.ToBase64String(Enumerable.Range(0, 3000).Select(i => (byte)(i * 7919 % 251)).ToArray()));
        Add("long pieces", string.Concat(Enumerable.Repeat("👍", 500)));
        Add("long pieces", string.Concat(Enumerable.Repeat("中", 1000)));

        // Seeded random mixtures of every kind of atom and space: the pieces' boundaries in every combination.
        var random = new Random(18);
        for (var i = 0; i < 6000; i++)
        {
            var text = new StringBuilder();
            var atoms = random.Next(1, 40);
            for (var j = 0; j < atoms; j++)
            {
                text.Append(random.Next(3) == 0 ? s_spaces[random.Next(s_spaces.Length)] : s_atoms[random.Next(s_atoms.Length)]);
            }

            Add("random mixtures", text.ToString());
        }

        return [.. cases.Select(c => (c.Item1, Encoding.UTF8.GetBytes(c.Item2)))];
    }

    /// <summary>
    /// Every Unicode scalar value (U+0000 to U+10FFFF without surrogates), <paramref name="perLine"/> to a line, each
    /// where its class decides the pieces: after a letter, before a digit, after a space, doubled and before an
    /// apostrophe.
    /// </summary>
    public static IReadOnlyList<byte[]> EveryScalar(int perLine = 256)
    {
        var lines = new List<byte[]>();
        var line = new StringBuilder();
        var inLine = 0;
        for (var value = 0; value <= 0x10FFFF; value++)
        {
            if (value is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            var c = char.ConvertFromUtf32(value);
            line.Append('a').Append(c).Append('1').Append(' ').Append(c).Append(c).Append("'s");
            if (++inLine == perLine)
            {
                lines.Add(Encoding.UTF8.GetBytes(line.ToString()));
                line.Clear();
                inLine = 0;
            }
        }

        if (inLine > 0)
        {
            lines.Add(Encoding.UTF8.GetBytes(line.ToString()));
        }

        return lines;
    }

    /// <summary>Byte sequences that are not UTF-8, alone and between text, for <see cref="InvalidUtf8.Replace"/>.</summary>
    public static IReadOnlyList<byte[]> InvalidUtf8()
    {
        byte[][] bad =
        [
            [0x80], [0xBF], [0xFF], [0xFE], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xE2, 0x82], [0xE2], [0xED, 0xA0, 0x80],
            [0xED, 0xBF, 0xBF], [0xF0, 0x9F], [0xF0, 0x9F, 0x91], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
            [0xC3], [0xC3, 0xC3, 0xA9], [0xE2, 0x82, 0xE2, 0x82, 0xAC], [0x80, 0x80, 0x80], [0xF0, 0x80, 0x80, 0x80],
        ];
        byte[][] around = [[], [(byte)'a'], [(byte)' '], [(byte)'1'], [(byte)'\''], [(byte)'!'], [0xC3, 0xA9], [0xF0, 0x9F, 0x91, 0x8D], [(byte)'\n']];
        var documents = new List<byte[]>();
        foreach (var b in bad)
        {
            foreach (var before in around)
            {
                foreach (var after in around)
                {
                    documents.Add([.. before, .. b, .. after]);
                    documents.Add([.. "x "u8, .. before, .. b, .. b, .. after, .. "'s y"u8]);
                }
            }
        }

        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(1, 60)];
            random.NextBytes(bytes);
            documents.Add(bytes);
        }

        return documents;
    }
}
