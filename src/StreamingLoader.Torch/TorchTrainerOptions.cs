namespace StreamingLoader.Torch;

/// <summary>How a <see cref="TorchTrainer"/> feeds its device. The trainer copies the options when it is created.</summary>
/// <remarks>
/// Defaults: <see cref="Device"/> null (the model's device), <see cref="PrefetchDepth"/> 1, <see cref="FeatureScale"/> 1,
/// <see cref="PageLockBatches"/> true, <see cref="Name"/> "default", <see cref="TimeProvider"/> the system clock.
/// </remarks>
public sealed class TorchTrainerOptions
{
    private int _prefetchDepth = 1;
    private double _featureScale = 1;
    private string _name = "default";
    private TimeProvider _timeProvider = TimeProvider.System;

    /// <summary>Gets or sets the device to train on; null keeps the model's device. The trainer moves the model there.</summary>
    public TorchDevice? Device { get; set; }

    /// <summary>
    /// Gets or sets how many batches are staged ahead of the step (copied to a CUDA device on the side stream while the
    /// step before runs). 0 steps each batch as it comes. The loader's pool must hold more buffers than this.
    /// </summary>
    public int PrefetchDepth
    {
        get => _prefetchDepth;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _prefetchDepth = value;
        }
    }

    /// <summary>
    /// Gets or sets the factor that integer features are multiplied by once converted to Float32 on the device: 1/255
    /// turns raw UInt8 pixels into torchvision's <c>ToTensor()</c> range while copying a quarter of the bytes.
    /// Floating-point features are used as they are.
    /// </summary>
    public double FeatureScale
    {
        get => _featureScale;
        set
        {
            if (!double.IsFinite(value) || value == 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The feature scale must be a finite, non-zero number.");
            }

            _featureScale = value;
        }
    }

    /// <summary>
    /// Gets or sets whether the batch buffers are page-locked (<c>cudaHostRegister</c>) on a CUDA device so that their
    /// copies run asynchronously. Each pooled buffer is registered once and unregistered when the trainer is disposed,
    /// so dispose the trainer before the loader. No effect on the CPU.
    /// </summary>
    public bool PageLockBatches { get; set; } = true;

    /// <summary>Gets or sets the trainer's name: the <c>trainer</c> tag on its metrics.</summary>
    public string Name
    {
        get => _name;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            _name = value;
        }
    }

    /// <summary>Gets or sets the clock the trainer measures step times and waits with.</summary>
    public TimeProvider TimeProvider
    {
        get => _timeProvider;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _timeProvider = value;
        }
    }

    internal TorchTrainerOptions Clone() => (TorchTrainerOptions)MemberwiseClone();
}
