using System.Runtime.InteropServices;

namespace StreamingLoader.Text.Internal;

/// <summary>A cached piece's ids: one id inline (most pieces are one token), or an array.</summary>
[StructLayout(LayoutKind.Auto)]
internal readonly record struct PieceIds(int Single, int[]? Many);
