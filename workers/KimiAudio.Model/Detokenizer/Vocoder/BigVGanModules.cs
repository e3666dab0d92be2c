using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KimiAudio.Model.Detokenizer.Vocoder;

/// <summary>Snake (x + sin²(αx)/α) or SnakeBeta (x + sin²(αx)/β), per channel; log-scale parameters when configured.</summary>
public sealed class Snake : nn.Module<Tensor, Tensor>
{
    private readonly Parameter alpha;
    private readonly Parameter? beta;
    private readonly bool logscale;

    public Snake(int channels, bool withBeta, bool logscale) : base(nameof(Snake))
    {
        this.logscale = logscale;
        alpha = new Parameter(zeros(channels), requires_grad: false);
        beta = withBeta ? new Parameter(zeros(channels), requires_grad: false) : null;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var a = alpha.unsqueeze(0).unsqueeze(-1);
        var b = (beta ?? alpha).unsqueeze(0).unsqueeze(-1);
        if (logscale)
        {
            a = a.exp();
            b = b.exp();
        }
        var s = sin(x.mul(a));
        return x.add(s.mul(s).mul(b.add(1e-9).reciprocal())).MoveToOuterDisposeScope();
    }
}

/// <summary>×2 upsampler: replicate-pad 5, transposed conv (stride 2) with the stored 12-tap filter, ×2 gain, crop 15 each side.</summary>
public sealed class UpSample1d : nn.Module<Tensor, Tensor>
{
    private const int Ratio = 2;
    private readonly Tensor filter;

    public UpSample1d(int kernel) : base(nameof(UpSample1d))
    {
        filter = zeros(1, 1, kernel);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long c = x.shape[1], k = filter.shape[2];
        long pad = k / Ratio - 1;
        long padLeft = pad * Ratio + (k - Ratio) / 2;
        long padRight = pad * Ratio + (k - Ratio + 1) / 2;
        var p = nn.functional.pad(x, [pad, pad], PaddingModes.Replicate);
        var y = nn.functional.conv_transpose1d(p, filter.expand(c, -1, -1), stride: Ratio, groups: c).mul(Ratio);
        return y.narrow(2, padLeft, y.shape[2] - padLeft - padRight).MoveToOuterDisposeScope();
    }
}

/// <summary>Low-pass filter with stride 2: replicate-pad (k/2 − 1, k/2), depthwise conv with the stored filter.</summary>
public sealed class LowPassFilter1d : nn.Module<Tensor, Tensor>
{
    private const int Stride = 2;
    private readonly Tensor filter;

    public LowPassFilter1d(int kernel) : base(nameof(LowPassFilter1d))
    {
        filter = zeros(1, 1, kernel);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long c = x.shape[1], k = filter.shape[2];
        bool even = k % 2 == 0;
        var p = nn.functional.pad(x, [k / 2 - (even ? 1 : 0), k / 2], PaddingModes.Replicate);
        return nn.functional.conv1d(p, filter.expand(c, -1, -1), stride: Stride, groups: c).MoveToOuterDisposeScope();
    }
}

/// <summary>DownSample1d of the reference: only holds the low-pass filter (key <c>downsample.lowpass.filter</c>).</summary>
public sealed class DownSample1d : nn.Module<Tensor, Tensor>
{
    private readonly LowPassFilter1d lowpass;

    public DownSample1d(int kernel) : base(nameof(DownSample1d))
    {
        lowpass = new LowPassFilter1d(kernel);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => lowpass.call(x);
}

/// <summary>Anti-aliased activation: upsample ×2 → Snake/SnakeBeta → downsample ×2 (the torch path of the reference).</summary>
public sealed class Activation1d : nn.Module<Tensor, Tensor>
{
    private const int FilterTaps = 12;
    private readonly Snake act;
    private readonly UpSample1d upsample;
    private readonly DownSample1d downsample;

    public Activation1d(int channels, VocoderConfig cfg) : base(nameof(Activation1d))
    {
        act = new Snake(channels, cfg.Activation == "snakebeta", cfg.SnakeLogscale);
        upsample = new UpSample1d(FilterTaps);
        downsample = new DownSample1d(FilterTaps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var u = upsample.call(x);
        using var a = act.call(u);
        return downsample.call(a);
    }
}

/// <summary>AMPBlock1: for each dilation d: x += conv2(act2(conv1_d(act1(x)))).</summary>
public sealed class AmpBlock1 : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Conv1d> convs1;
    private readonly ModuleList<Conv1d> convs2;
    private readonly ModuleList<Activation1d> activations;

    public AmpBlock1(int channels, int kernel, int[] dilations, VocoderConfig cfg) : base(nameof(AmpBlock1))
    {
        convs1 = nn.ModuleList(dilations.Select(d => nn.Conv1d(channels, channels, kernel, dilation: d, padding: (kernel * d - d) / 2)).ToArray());
        convs2 = nn.ModuleList(dilations.Select(_ => nn.Conv1d(channels, channels, kernel, padding: (kernel - 1) / 2)).ToArray());
        activations = nn.ModuleList(Enumerable.Range(0, 2 * dilations.Length).Select(_ => new Activation1d(channels, cfg)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        for (int j = 0; j < convs1.Count; j++)
        {
            var t = activations[2 * j].call(x);
            t = convs1[j].call(t);
            t = activations[2 * j + 1].call(t);
            t = convs2[j].call(t);
            x = x.add(t);
        }
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// BigVGAN generator: conv_pre → per stage (transposed-conv upsampling, mean of the stage's AMP blocks) →
/// anti-aliased activation → conv_post → tanh (or clamp). Input [B, num_mels, T], output [B, 1, T·hop].
/// Field names are the checkpoint keys; weight-norm pairs are folded before loading.
/// </summary>
public sealed class BigVGanGenerator : nn.Module<Tensor, Tensor>
{
    private readonly Conv1d conv_pre;
    private readonly ModuleList<ModuleList<ConvTranspose1d>> ups;
    private readonly ModuleList<AmpBlock1> resblocks;
    private readonly Activation1d activation_post;
    private readonly Conv1d conv_post;

    public VocoderConfig Config { get; }

    public BigVGanGenerator(VocoderConfig cfg) : base(nameof(BigVGanGenerator))
    {
        Config = cfg;
        int c0 = cfg.UpsampleInitialChannel;
        conv_pre = nn.Conv1d(cfg.NumMels, c0, 7, padding: 3);
        ups = nn.ModuleList(cfg.UpsampleRates.Select((u, i) =>
        {
            int k = cfg.UpsampleKernelSizes[i];
            return nn.ModuleList(nn.ConvTranspose1d(c0 >> i, c0 >> (i + 1), k, stride: u, padding: (k - u) / 2));
        }).ToArray());
        var blocks = new List<AmpBlock1>();
        int ch = c0;
        for (int i = 0; i < cfg.UpsampleRates.Length; i++)
        {
            ch = c0 >> (i + 1);
            for (int j = 0; j < cfg.ResblockKernelSizes.Length; j++)
                blocks.Add(new AmpBlock1(ch, cfg.ResblockKernelSizes[j], cfg.ResblockDilationSizes[j], cfg));
        }
        resblocks = nn.ModuleList(blocks.ToArray());
        activation_post = new Activation1d(ch, cfg);
        conv_post = nn.Conv1d(ch, 1, 7, padding: 3, bias: cfg.UseBiasAtFinal);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = conv_pre.call(x);
        int k = Config.ResblockKernelSizes.Length;
        for (int i = 0; i < ups.Count; i++)
        {
            x = ups[i][0].call(x);
            Tensor? xs = null;
            for (int j = 0; j < k; j++)
            {
                var r = resblocks[i * k + j].call(x);
                xs = xs is null ? r : xs.add(r);
            }
            x = xs!.div(k);
        }
        x = activation_post.call(x);
        x = conv_post.call(x);
        x = Config.UseTanhAtFinal ? x.tanh() : x.clamp(-1.0, 1.0);
        return x.MoveToOuterDisposeScope();
    }
}
