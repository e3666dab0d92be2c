namespace KimiAudio.Infrastructure.Storage;

/// <summary>A parsed <c>s3://bucket/key-or-prefix</c> address.</summary>
public sealed record S3Uri(string Bucket, string Key)
{
    public static bool TryParse(string? text, out S3Uri uri)
    {
        uri = new S3Uri("", "");
        if (text is null || !text.StartsWith("s3://", StringComparison.Ordinal)) return false;
        var rest = text["s3://".Length..];
        var slash = rest.IndexOf('/');
        var bucket = slash < 0 ? rest : rest[..slash];
        if (bucket.Length is < 3 or > 63 || bucket.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')))
            return false;
        uri = new S3Uri(bucket, slash < 0 ? "" : rest[(slash + 1)..]);
        return true;
    }

    public override string ToString() => $"s3://{Bucket}/{Key}";
}
