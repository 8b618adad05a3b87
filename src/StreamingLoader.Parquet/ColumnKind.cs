namespace StreamingLoader.Parquet;

/// <summary>What a column becomes in a batch.</summary>
public enum ColumnKind
{
    /// <summary>A number per row: a scalar tensor.</summary>
    Number,

    /// <summary>A list of numbers of the same length in every row: a fixed-shape tensor.</summary>
    FixedSizeList,

    /// <summary>A list of numbers whose length varies: a variable-length field (padded with a mask when batched).</summary>
    VariableList,

    /// <summary>UTF-8 strings: text for a tokenizer.</summary>
    Text,

    /// <summary>Bytes: encoded images (JPEG, PNG) for the image pipeline.</summary>
    Binary,

    /// <summary>Anything else (nested groups, maps): not read.</summary>
    Unsupported,
}
