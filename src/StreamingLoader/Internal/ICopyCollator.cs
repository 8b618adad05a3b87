using System.Runtime.CompilerServices;

namespace StreamingLoader.Internal;

/// <summary>A collator that copies samples as they are, so a dataset that can gather rows may write batches itself.</summary>
internal interface ICopyCollator;
