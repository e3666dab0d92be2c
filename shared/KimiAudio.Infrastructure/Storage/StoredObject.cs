namespace KimiAudio.Infrastructure.Storage;

/// <summary>An object's identity and content fingerprint as listed by the store.</summary>
public sealed record StoredObject(string Bucket, string Key, string ETag, long Size);
