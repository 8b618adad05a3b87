using System.Globalization;

namespace StreamingLoader.Torch;

/// <summary>The kind of device a model trains on.</summary>
public enum TorchDeviceType
{
    /// <summary>The CPU: batches are read in place, without a copy.</summary>
    Cpu = 0,

    /// <summary>A CUDA GPU: batches are copied to it asynchronously, ahead of the step that uses them.</summary>
    Cuda = 1,
}

/// <summary>A device (<c>torch.device</c>): the CPU, or a CUDA GPU by index.</summary>
public readonly record struct TorchDevice
{
    /// <summary>Creates a device.</summary>
    /// <param name="type">The kind of device.</param>
    /// <param name="index">The CUDA device index; 0 for the CPU.</param>
    public TorchDevice(TorchDeviceType type, int index = 0)
    {
        if (type is not (TorchDeviceType.Cpu or TorchDeviceType.Cuda))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "The device is the CPU or CUDA.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (type == TorchDeviceType.Cpu && index != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "The CPU has index 0.");
        }

        Type = type;
        Index = index;
    }

    /// <summary>Gets the CPU.</summary>
    public static TorchDevice Cpu => default;

    /// <summary>Gets the first CUDA device if CUDA is available, else the CPU (<c>"cuda" if torch.cuda.is_available() else "cpu"</c>).</summary>
    public static TorchDevice Best => TorchRuntime.IsCudaAvailable ? Cuda() : Cpu;

    /// <summary>Gets the kind of device.</summary>
    public TorchDeviceType Type { get; }

    /// <summary>Gets the CUDA device index (0 for the CPU).</summary>
    public int Index { get; }

    /// <summary>Gets whether this is a CUDA device.</summary>
    public bool IsCuda => Type == TorchDeviceType.Cuda;

    /// <summary>A CUDA device.</summary>
    public static TorchDevice Cuda(int index = 0) => new(TorchDeviceType.Cuda, index);

    /// <summary>Parses <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> or <c>auto</c> (<see cref="Best"/>).</summary>
    /// <exception cref="FormatException">The text names no device.</exception>
    public static TorchDevice Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim().ToLowerInvariant();
        switch (trimmed)
        {
            case "cpu":
                return Cpu;
            case "cuda" or "gpu":
                return Cuda();
            case "auto":
                return Best;
        }

        if (trimmed.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(trimmed.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return Cuda(index);
        }

        throw new FormatException($"'{text}' is not a device: use cpu, cuda, cuda:N or auto.");
    }

    /// <inheritdoc/>
    public override string ToString() => IsCuda ? string.Create(CultureInfo.InvariantCulture, $"cuda:{Index}") : "cpu";
}
