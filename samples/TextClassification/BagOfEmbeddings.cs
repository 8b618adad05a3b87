using TorchSharp;
using static TorchSharp.torch;

namespace StreamingLoader.Samples.TextClassification;

/// <summary>
/// An embedding bag over the padded ids: each token's embedding, averaged over the attention mask (padding left out),
/// then a linear layer to the categories. PyTorch's <c>nn.EmbeddingBag(mode="mean")</c> with a classifier on top.
/// </summary>
internal sealed class BagOfEmbeddings : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> _embedding;
    private readonly nn.Module<Tensor, Tensor> _dropout;
    private readonly nn.Module<Tensor, Tensor> _classifier;

    public BagOfEmbeddings(long vocabulary, long dimensions, long categories, double dropout)
        : base(nameof(BagOfEmbeddings))
    {
        _embedding = nn.Embedding(vocabulary, dimensions);
        _dropout = nn.Dropout(dropout);
        _classifier = nn.Linear(dimensions, categories);
        RegisterComponents();
    }

    /// <summary>Logits [B, categories] from ids and mask, both Int64 [B, L].</summary>
    public override Tensor forward(Tensor ids, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var weights = mask.to_type(ScalarType.Float32).unsqueeze(-1);
        var summed = (_embedding.forward(ids) * weights).sum(1);
        var mean = summed / weights.sum(1).clamp_min(1);
        return _classifier.forward(_dropout.forward(mean)).MoveToOuterDisposeScope();
    }
}
