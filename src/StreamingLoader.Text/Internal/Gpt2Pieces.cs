using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace StreamingLoader.Text.Internal;

/// <summary>
/// GPT-2's pre-tokenizer over valid UTF-8: splits text into the pieces that byte-pair encoding then encodes one by
/// one, exactly as tiktoken's <c>r50k_base</c> pattern does,
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>, with the leftmost-first
/// alternation and greedy repetition of a backtracking regex.
/// </summary>
/// <remarks>
/// A state machine over code points rather than .NET's <see cref="System.Text.RegularExpressions.Regex"/>, for two
/// reasons. .NET's regex matches UTF-16 code units, so a letter or digit outside the Basic Multilingual Plane (𝐀, 𝟘,
/// 𠀀) is two surrogates, neither of them <c>\p{L}</c> or <c>\p{N}</c>, and the pieces differ from tiktoken's, whose
/// Rust regex matches code points. And it needs no allocation and no transcoding: it reads the UTF-8 bytes the
/// pieces are encoded from. The classes are those of the Rust regex: <c>\p{L}</c> is the letter categories
/// (Lu, Ll, Lt, Lm, Lo), <c>\p{N}</c> the number categories (Nd, Nl, No), and <c>\s</c> the White_Space property
/// (Zs, Zl, Zp, U+0009–U+000D and U+0085).
/// </remarks>
internal static class Gpt2Pieces
{
    internal const byte Letter = 0;
    internal const byte Number = 1;
    internal const byte Space = 2;
    internal const byte Other = 3;

    private static readonly byte[] s_ascii = CreateAsciiClasses();

    /// <summary>Returns where the piece that starts at <paramref name="start"/> of <paramref name="text"/> ends.</summary>
    /// <param name="text">Valid UTF-8.</param>
    /// <param name="start">The start of a piece: 0, or where the previous piece ended.</param>
    public static int End(ReadOnlySpan<byte> text, int start)
    {
        var first = text[start];
        if (first == (byte)'\'' && Contraction(text, start) is > 0 and var contraction)
        {
            return start + contraction;
        }

        if (first == (byte)' ' && start + 1 < text.Length)
        {
            // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": a space joins the run that follows it.
            var next = ClassAt(text, start + 1, out var nextLength);
            if (next != Space)
            {
                return RunEnd(text, start + 1 + nextLength, next);
            }
        }

        var kind = ClassAt(text, start, out var firstLength);
        if (kind != Space)
        {
            return RunEnd(text, start + firstLength, kind);
        }

        // Whitespace: "\s+(?!\S)" takes the run up to the end of the text, or all of it but its last character when
        // something follows (so that character can join the word after it as its leading space); "\s+" takes a run of
        // one character followed by something.
        var end = start + firstLength;
        var last = start;
        while (end < text.Length)
        {
            if (ClassAt(text, end, out var length) != Space)
            {
                return last > start ? last : end;
            }

            last = end;
            end += length;
        }

        return end;
    }

    /// <summary>The class of the code point at <paramref name="index"/>, and its length in bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte ClassAt(ReadOnlySpan<byte> text, int index, out int length)
    {
        var b = text[index];
        if (b < 0x80)
        {
            length = 1;
            return s_ascii[b];
        }

        Rune.DecodeFromUtf8(text[index..], out var rune, out length);
        return Classify(rune);
    }

    /// <summary>The regex class of a code point.</summary>
    internal static byte Classify(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Letter,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Number,
        UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => Space,
        _ => rune.Value is (>= 0x09 and <= 0x0D) or 0x85 ? Space : Other,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int RunEnd(ReadOnlySpan<byte> text, int end, byte kind)
    {
        while (end < text.Length)
        {
            var b = text[end];
            if (b < 0x80)
            {
                if (s_ascii[b] != kind)
                {
                    break;
                }

                end++;
            }
            else
            {
                if (ClassAt(text, end, out var length) != kind)
                {
                    break;
                }

                end += length;
            }
        }

        return end;
    }

    /// <summary>The length of the contraction ('s, 't, 're, 've, 'm, 'll, 'd) at <paramref name="start"/>, or 0.</summary>
    private static int Contraction(ReadOnlySpan<byte> text, int start)
    {
        if (start + 1 >= text.Length)
        {
            return 0;
        }

        switch (text[start + 1])
        {
            case (byte)'s' or (byte)'t' or (byte)'m' or (byte)'d':
                return 2;
            case (byte)'r' or (byte)'v' when start + 2 < text.Length && text[start + 2] == (byte)'e':
                return 3;
            case (byte)'l' when start + 2 < text.Length && text[start + 2] == (byte)'l':
                return 3;
            default:
                return 0;
        }
    }

    private static byte[] CreateAsciiClasses()
    {
        var classes = new byte[128];
        for (var c = 0; c < classes.Length; c++)
        {
            classes[c] = Classify(new Rune(c));
        }

        return classes;
    }
}
