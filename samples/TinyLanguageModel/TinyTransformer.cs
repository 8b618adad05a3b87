using TorchSharp;
using static TorchSharp.torch;

namespace StreamingLoader.Samples.TinyLanguageModel;

/// <summary>
/// A small GPT: token and position embeddings, pre-norm blocks of causal self-attention and an MLP, a final norm and
/// a linear head to the vocabulary. Attention is block-diagonal: a token sees the earlier tokens of its own document
/// only (the packed batch's <c>document_ids</c>), and positions restart at each document (<c>position_ids</c>).
/// </summary>
internal sealed class TinyTransformer : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> _tokens;
    private readonly nn.Module<Tensor, Tensor> _positions;
    private readonly global::TorchSharp.Modules.ModuleList<Block> _blocks;
    private readonly nn.Module<Tensor, Tensor> _norm;
    private readonly nn.Module<Tensor, Tensor> _head;

    public TinyTransformer(long vocabulary, long context, long dimensions, long heads, int layers)
        : base(nameof(TinyTransformer))
    {
        _tokens = nn.Embedding(vocabulary, dimensions);
        _positions = nn.Embedding(context, dimensions);
        _blocks = nn.ModuleList([.. Enumerable.Range(0, layers).Select(_ => new Block(dimensions, heads))]);
        _norm = nn.LayerNorm(dimensions);
        _head = nn.Linear(dimensions, vocabulary);
        RegisterComponents();
    }

    /// <summary>Logits [B, L, vocabulary] from ids, positions and document ids, each Int64 [B, L].</summary>
    public override Tensor forward(Tensor ids, Tensor positions, Tensor documents)
    {
        using var scope = NewDisposeScope();
        var length = ids.shape[1];
        var causal = ones(length, length, dtype: ScalarType.Bool, device: ids.device).tril();
        var sameDocument = documents.unsqueeze(2).eq(documents.unsqueeze(1));
        var mask = (sameDocument & causal).unsqueeze(1); // [B, 1, L, L]: true where a query may look
        var x = _tokens.forward(ids) + _positions.forward(positions);
        foreach (var block in _blocks)
        {
            x = block.forward(x, mask);
        }

        return _head.forward(_norm.forward(x)).MoveToOuterDisposeScope();
    }

    /// <summary>One pre-norm transformer block.</summary>
    private sealed class Block : nn.Module<Tensor, Tensor, Tensor>
    {
        private readonly long _heads;
        private readonly nn.Module<Tensor, Tensor> _norm1;
        private readonly nn.Module<Tensor, Tensor> _qkv;
        private readonly nn.Module<Tensor, Tensor> _projection;
        private readonly nn.Module<Tensor, Tensor> _norm2;
        private readonly nn.Module<Tensor, Tensor> _mlp;

        public Block(long dimensions, long heads)
            : base(nameof(Block))
        {
            _heads = heads;
            _norm1 = nn.LayerNorm(dimensions);
            _qkv = nn.Linear(dimensions, 3 * dimensions);
            _projection = nn.Linear(dimensions, dimensions);
            _norm2 = nn.LayerNorm(dimensions);
            _mlp = nn.Sequential(nn.Linear(dimensions, 4 * dimensions), nn.GELU(), nn.Linear(4 * dimensions, dimensions));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x, Tensor mask)
        {
            var (batch, length, dimensions) = (x.shape[0], x.shape[1], x.shape[2]);
            var qkv = _qkv.forward(_norm1.forward(x)).view(batch, length, 3, _heads, dimensions / _heads).permute(2, 0, 3, 1, 4);
            var attended = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], mask);
            x = x + _projection.forward(attended.transpose(1, 2).reshape(batch, length, dimensions));
            return x + _mlp.forward(_norm2.forward(x));
        }
    }
}
