using Microsoft.ML.OnnxRuntime;

namespace KimiAudio.Vad;

/// <summary>
/// Silero VAD (v5, MIT licence) run with ONNX Runtime on the CPU: one speech probability per 32 ms frame of 16 kHz mono.
/// </summary>
/// <remarks>
/// Why this model: it is maintained, small (2.3 MB, ~1 ms a frame on one core), robust to noise and music where energy- or
/// WebRTC-style GMM detectors mark every loud frame as speech, and its ONNX file runs under the ONNX Runtime NuGet package
/// with no Python. The file comes from the npm package @ricky0123/vad-web, which ships it (infra/services.sh install).
/// The session is shared and thread-safe; each <see cref="SpeechProbabilities"/> call carries its own recurrent state.
/// Model contract (v5 and v6 alike): input float[1, 64 + 512] (the previous frame's last 64 samples, then the frame),
/// state float[2, 1, 128], sr int64 scalar; outputs the probability float[1, 1] and the next state.
/// </remarks>
public sealed class SileroVad : IDisposable
{
    public const int SampleRate = 16_000;
    /// <summary>Samples per frame the model scores (32 ms at 16 kHz).</summary>
    public const int FrameSamples = 512;
    private const int ContextSamples = 64;
    private const int StateSize = 2 * 1 * 128;

    private readonly InferenceSession session;

    private SileroVad(InferenceSession session) => this.session = session;

    /// <summary>Loads the model file; a missing or unreadable file is a <see cref="VadModelException"/> naming the path.</summary>
    public static SileroVad Open(string modelPath)
    {
        if (!File.Exists(modelPath))
            throw new VadModelException($"Silero VAD model not found at '{modelPath}'; run infra/services.sh install (it puts it in .run/tools/silero-vad) or set {VadModelLocator.EnvironmentVariable}");
        var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        try
        {
            var session = new InferenceSession(modelPath, options);
            foreach (var name in new[] { "input", "state", "sr" })
                if (!session.InputMetadata.ContainsKey(name))
                    throw new VadModelException($"'{modelPath}' is not a Silero VAD v5/v6 model (no input '{name}')");
            return new SileroVad(session);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new VadModelException($"'{modelPath}' could not be loaded as an ONNX model: {ex.Message}", ex);
        }
        finally
        {
            options.Dispose();
        }
    }

    /// <summary>Frames in <paramref name="sampleCount"/> samples (the last partial frame counts, zero-padded).</summary>
    public static int FrameCount(int sampleCount) => (sampleCount + FrameSamples - 1) / FrameSamples;

    /// <summary>The speech probability of each 512-sample frame of 16 kHz mono <paramref name="samples"/>.</summary>
    /// <remarks>Inputs and outputs are bound to buffers allocated once per call: a frame costs one model run and no garbage.</remarks>
    public float[] SpeechProbabilities(ReadOnlySpan<float> samples, CancellationToken ct = default)
    {
        var probabilities = new float[FrameCount(samples.Length)];
        var input = new float[ContextSamples + FrameSamples];
        var state = new float[StateSize];
        var nextState = new float[StateSize];
        var probability = new float[1];
        var sr = new long[] { SampleRate };
        using var inputValue = OrtValue.CreateTensorValueFromMemory(input, [1, input.Length]);
        using var stateValue = OrtValue.CreateTensorValueFromMemory(state, [2, 1, 128]);
        using var srValue = OrtValue.CreateTensorValueFromMemory(sr, []);
        using var probabilityValue = OrtValue.CreateTensorValueFromMemory(probability, [1, 1]);
        using var nextStateValue = OrtValue.CreateTensorValueFromMemory(nextState, [2, 1, 128]);
        using var runOptions = new RunOptions();
        string[] inputNames = ["input", "state", "sr"], outputNames = ["output", "stateN"];
        OrtValue[] inputs = [inputValue, stateValue, srValue], outputs = [probabilityValue, nextStateValue];
        for (var frame = 0; frame < probabilities.Length; frame++)
        {
            if ((frame & 255) == 0) ct.ThrowIfCancellationRequested();
            // context: the last 64 samples of the previous frame (zeros before the first)
            input.AsSpan(FrameSamples, ContextSamples).CopyTo(input);
            var chunk = samples.Slice(frame * FrameSamples, Math.Min(FrameSamples, samples.Length - frame * FrameSamples));
            chunk.CopyTo(input.AsSpan(ContextSamples));
            input.AsSpan(ContextSamples + chunk.Length).Clear();
            session.Run(runOptions, inputNames, inputs, outputNames, outputs);
            probabilities[frame] = probability[0];
            nextState.CopyTo(state, 0);
        }
        return probabilities;
    }

    public void Dispose() => session.Dispose();
}

/// <summary>The VAD model is missing or is not a Silero VAD model.</summary>
public sealed class VadModelException(string message, Exception? inner = null) : Exception(message, inner);
