namespace KimiAudio.Audio;

/// <summary>The input cannot be turned into audio (corrupt, empty, unsupported, over a limit). Permanent: retrying will not help.</summary>
public sealed class AudioDecodeException(string message, Exception? inner = null) : Exception(message, inner);
