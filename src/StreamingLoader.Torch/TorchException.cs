namespace StreamingLoader.Torch;

/// <summary>
/// An error raised inside libtorch (a <c>c10::Error</c> or another C++ exception), carrying libtorch's message: a
/// shape mismatch, a file that is not a TorchScript archive, a CUDA failure.
/// </summary>
public sealed class TorchException : Exception
{
    /// <summary>Creates the exception with libtorch's message.</summary>
    public TorchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public TorchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public TorchException()
        : base("libtorch reported an error.")
    {
    }
}
