namespace KimiAudio.Model.Detokenizer;

/// <summary>
/// Streaming schedule of the detokenizer. Defaults are the reference driver's (<c>KimiAudio.detokenize_audio</c> and
/// <c>get_audio_detokenizer</c>): chunks of 30 tokens, ×4 frame repeat, 12-token look-ahead, a 30-point Euler grid,
/// 900 cached frames at most, positions reset before 4096.
/// </summary>
public sealed record DetokenizerOptions
{
    public int FirstChunkTokens { get; init; } = 30;
    public int ChunkTokens { get; init; } = 30;
    public int UpsampleFactor { get; init; } = 4;
    public int LookAheadTokens { get; init; } = 12;
    /// <summary>Points of the time grid linspace(0, 1, OdeSteps); OdeSteps − 1 evaluations.</summary>
    public int OdeSteps { get; init; } = 30;
    public int MaxKvCacheFrames { get; init; } = 900;
    public int MaxPositions { get; init; } = 4096;

    public int LookAheadFrames => LookAheadTokens * UpsampleFactor;

    public void Validate()
    {
        if (FirstChunkTokens <= 0 || ChunkTokens <= 0) throw new ArgumentException("chunk sizes must be positive");
        if (UpsampleFactor <= 0) throw new ArgumentException("UpsampleFactor must be positive");
        if (LookAheadTokens < 0) throw new ArgumentException("LookAheadTokens must not be negative");
        if (LookAheadTokens >= FirstChunkTokens)
            throw new ArgumentException("LookAheadTokens must be smaller than FirstChunkTokens (a non-final chunk must commit frames)");
        if (OdeSteps < 2) throw new ArgumentException("OdeSteps must be at least 2");
        if (MaxKvCacheFrames <= 0) throw new ArgumentException("MaxKvCacheFrames must be positive");
        if (MaxPositions <= 0) throw new ArgumentException("MaxPositions must be positive");
    }
}

/// <summary>What happened in one chunk (the fields of a fixture's case.json "chunks" entries).</summary>
public sealed record ChunkSchedule
{
    public required int Chunk { get; init; }
    public required int Tokens { get; init; }
    public required bool IsFinal { get; init; }
    public required int CarryFrames { get; init; }
    public required int Frames { get; init; }
    public required long StartPositionId { get; init; }
    public required int CachedFramesBefore { get; init; }
    public required int KeyLength { get; init; }
    /// <summary>Null for the final chunk (its cache is dropped).</summary>
    public bool? CacheTrimmed { get; init; }
    public required int CommittedFrames { get; init; }
    public int? CachedFramesAfter { get; init; }
    public required int VocoderFrames { get; init; }
    public int? CrossfadeLength { get; init; }
    public required int EmittedSamples { get; init; }
    public required bool PositionReset { get; init; }
}

/// <summary>Receives the schedule and the intermediate tensors of a run (parity checks, debugging). Tensors are borrowed: copy to keep.</summary>
public interface IDetokenizerTrace
{
    void OnChunk(ChunkSchedule schedule);

    /// <summary>Names as in the fixtures: ode_t, ode_dt, ode_t_int, frame_ids_chunk_c, v_chunk0_step0, ode_out_chunk_c,
    /// cache_k_chunk0, cache_v_chunk0, mel_chunk_c, voc_in_chunk_c, voc_out_chunk_c, wav_piece_c.</summary>
    void OnTensor(string name, TorchSharp.torch.Tensor value);
}
