namespace KimiAudio.Vad;

/// <summary>Turns per-frame speech probabilities into the pauses of a recording (pure; the model is not involved).</summary>
public static class VoiceActivity
{
    /// <summary>
    /// The non-speech stretches of <paramref name="sampleCount"/> samples whose frames (<paramref name="frameSamples"/>
    /// each) scored <paramref name="probabilities"/>, in order. Speech starts at a frame ≥ Threshold and ends once frames stay
    /// below EndThreshold for MinPauseSeconds; bursts shorter than MinSpeechSeconds are dropped; pauses next to speech are
    /// shrunk by SpeechPadSeconds. Leading and trailing silence are pauses too.
    /// </summary>
    public static IReadOnlyList<Pause> Pauses(ReadOnlySpan<float> probabilities, int sampleCount, SpeechThresholds thresholds, int frameSamples = SileroVad.FrameSamples, int sampleRate = SileroVad.SampleRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sampleCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(frameSamples);
        var endThreshold = thresholds.EndThreshold ?? Math.Max(0.01f, thresholds.Threshold - 0.15f);
        var minPauseFrames = Math.Max(1, (int)Math.Ceiling(thresholds.MinPauseSeconds * sampleRate / frameSamples));
        var minSpeech = (int)(thresholds.MinSpeechSeconds * sampleRate);
        var pad = (int)(thresholds.SpeechPadSeconds * sampleRate);

        var speech = new List<(int Start, int End)>();
        int? speechStart = null, silenceStart = null;
        for (var f = 0; f < probabilities.Length; f++)
        {
            var p = probabilities[f];
            if (speechStart is null)
            {
                if (p >= thresholds.Threshold) speechStart = f;
                continue;
            }
            if (p >= thresholds.Threshold) silenceStart = null;
            else if (p < endThreshold)
            {
                silenceStart ??= f;
                if (f - silenceStart.Value + 1 >= minPauseFrames)
                {
                    speech.Add((speechStart.Value, silenceStart.Value));
                    speechStart = silenceStart = null;
                }
            }
        }
        if (speechStart is { } open) speech.Add((open, silenceStart ?? probabilities.Length));

        var pauses = new List<Pause>();
        var cursor = 0; // end of the last speech, in samples
        foreach (var (startFrame, endFrame) in speech)
        {
            int start = Math.Min(sampleCount, startFrame * frameSamples), end = Math.Min(sampleCount, endFrame * frameSamples);
            if (end - start < minSpeech) continue;
            AddPause(pauses, cursor == 0 ? 0 : cursor + pad, start - pad);
            cursor = end;
        }
        AddPause(pauses, cursor == 0 ? 0 : cursor + pad, sampleCount);
        return pauses;
    }

    private static void AddPause(List<Pause> pauses, int start, int end)
    {
        if (end > start) pauses.Add(new Pause(start, end));
    }
}
