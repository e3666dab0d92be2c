using KimiAudio.Model.Checkpoints;

namespace KimiAudio.Model.FrontEnd;

/// <summary>The fields of a HF <c>preprocessor_config.json</c> (WhisperFeatureExtractor) that the front-end uses.</summary>
public sealed record FeatureExtractorConfig(int FeatureSize, int SamplingRate, int HopLength, int NFft, double PaddingValue)
{
    /// <summary>Reads <c>preprocessor_config.json</c> of a model folder.</summary>
    public static FeatureExtractorConfig Load(string folder)
    {
        var json = JsonConfig.Open(System.IO.Path.Combine(folder, KimiAudioLayout.PreprocessorConfig));
        var c = new FeatureExtractorConfig(
            json.Int("feature_size"), json.Int("sampling_rate"), json.Int("hop_length"), json.Int("n_fft"),
            json.DoubleOr("padding_value", 0.0));
        if (c.SamplingRate != AudioSegmentation.SampleRate)
            throw new InvalidDataException($"{json.Path}: sampling_rate {c.SamplingRate} is not the front-end's {AudioSegmentation.SampleRate}");
        if (c.PaddingValue != 0.0)
            throw new InvalidDataException($"{json.Path}: padding_value {c.PaddingValue} is not supported (the reference pads with zeros)");
        return c;
    }
}
